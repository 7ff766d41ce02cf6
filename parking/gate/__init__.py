"""The gate: per-building gate keys, and the entry and exit of cars by plate (gate sessions)."""
