"""Airflow DAG `monthly_incidents`: the incident-response rating of a month."""

from govpulse.orchestration.dags import MONTHLY, build_rating_dag

monthly_incidents = build_rating_dag(MONTHLY)
