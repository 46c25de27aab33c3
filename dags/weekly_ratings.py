"""Airflow DAGs `weekly_ratings` (one per territory with GOVPULSE_TERRITORIES, ids prefixed with
its territory_id), built in govpulse.orchestration.dags."""

from govpulse.orchestration.dags import WEEKLY, build_rating_dags

globals().update(build_rating_dags(WEEKLY))
