"""The DuckDB warehouse: connections with the shared settings and every ops/raw table's DDL."""
