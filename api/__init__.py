"""Beatbook's HTTP API: FastAPI over PostGIS."""
