"""Airflow: the DAGs built from the run steps, credentials from connections, the Airflow home,
and running DAGs from the command line (runner, backfill, progress)."""
