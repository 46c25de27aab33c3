"""A run's lifecycle without Airflow: start, land, validate, publish, fail; deadlines, alerts,
the one-run-at-a-time lock and withdrawals."""
