"""Spatial analysis: pure functions over GeoDataFrames and arrays, no I/O."""
