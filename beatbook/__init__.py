"""Beatbook: geospatial beat management for community policing."""
