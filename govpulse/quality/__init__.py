"""Great Expectations suites, their validation against DuckDB frames, and plain-words messages."""
