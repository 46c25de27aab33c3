"""Airflow DAG `annual_ratings`: the year's final tables (built in govpulse.orchestration.dags)."""

from govpulse.orchestration.dags import ANNUAL, build_rating_dag

annual_ratings = build_rating_dag(ANNUAL)
