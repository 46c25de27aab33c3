"""Demo data and the benchmark: developer tools, never imported by a run (see .importlinter)."""
