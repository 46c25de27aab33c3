"""What leaves the warehouse: the published DuckDB file, Parquet, folders, bulletins, docs."""
