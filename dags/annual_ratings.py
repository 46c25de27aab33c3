"""Airflow DAGs `annual_ratings` (one per territory with GOVPULSE_TERRITORIES, ids prefixed with
its territory_id), built in govpulse.orchestration.dags."""

from govpulse.orchestration.dags import ANNUAL, build_rating_dags

globals().update(build_rating_dags(ANNUAL))
