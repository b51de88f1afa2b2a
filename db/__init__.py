"""Beatbook's PostGIS store: the model, its migrations and the SQL of each concern."""
