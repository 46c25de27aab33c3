"""Airflow DAG `weekly_ratings`: the four weekly ratings (built in govpulse.orchestration.dags)."""

from govpulse.orchestration.dags import build_weekly_dag

weekly_ratings = build_weekly_dag()
