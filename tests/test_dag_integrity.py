"""The DAG folder imports cleanly and `weekly_ratings` is scheduled on the Friday-closing week of
Asia/Almaty, with the safety settings the single-writer warehouse needs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from govpulse.config import DAGS_DIR

ALMATY = ZoneInfo("Asia/Almaty")


@pytest.fixture(scope="module")
def dag(airflow_db):  # noqa: ANN001, ANN201
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    return bag.get_dag("weekly_ratings")


def test_tasks_run_in_write_audit_publish_order(dag) -> None:  # noqa: ANN001
    order = ["start", "fetch", "land", "validate_raw", "dbt_transform", "validate_candidates",
             "dbt_marts", "publish"]
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert dag.max_active_runs == 1 and dag.max_active_tasks == 1
    writers = {t.task_id for t in dag.tasks if t.pool == "duckdb_warehouse"}
    assert writers == {"land", "dbt_transform", "dbt_marts", "publish"}
    assert all(dag.get_task(t).retries >= 2 for t in writers)
    # landing runs whatever the platform fetches did: completeness is a validation rule
    assert dag.get_task("land").trigger_rule == "all_done"


@pytest.mark.parametrize(("after", "week_start", "week_end"), [
    # a scheduled run after Friday 2026-11-20 00:00 local rates the week that just closed
    (datetime(2026, 11, 20, 0, 1, tzinfo=ALMATY), datetime(2026, 11, 13, tzinfo=ALMATY),
     datetime(2026, 11, 20, tzinfo=ALMATY)),
    # across the 2024-03-01 switch from UTC+6 to UTC+5: a week of 7 days and 1 hour
    (datetime(2024, 3, 1, 0, 1, tzinfo=ALMATY), datetime(2024, 2, 23, tzinfo=ALMATY),
     datetime(2024, 3, 1, tzinfo=ALMATY)),
])
def test_schedule_gives_the_friday_to_friday_week(
    dag, after: datetime, week_start: datetime, week_end: datetime  # noqa: ANN001
) -> None:
    interval = dag.timetable.infer_manual_data_interval(run_after=after)
    assert (interval.start, interval.end) == (week_start, week_end)
