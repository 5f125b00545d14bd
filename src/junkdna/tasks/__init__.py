"""Tasks: declarative specs, data sources, metrics, difficulty metadata."""
