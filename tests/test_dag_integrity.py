"""The DAG folder imports cleanly and `weekly_ratings` is scheduled on the Friday-closing week of
Asia/Almaty, with the safety settings the single-writer warehouse needs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from govpulse.settings import DAGS_DIR

ALMATY = ZoneInfo("Asia/Almaty")


@pytest.fixture(scope="module")
def dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    return bag.get_dag("weekly_ratings")


def test_tasks_run_in_write_audit_publish_order(dag) -> None:
    order = ["start", "fetch", "land", "validate_raw", "dbt_transform", "validate_candidates",
             "dbt_marts", "publish"]
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert dag.max_active_runs == 1 and dag.max_active_tasks == 1
    writers = {t.task_id for t in dag.tasks if t.pool == "duckdb_warehouse"}
    # every task that writes the private warehouse holds its one slot (fetch writes files only)
    assert writers == {"start", "land", "validate_raw", "dbt_transform", "validate_candidates",
                       "dbt_marts", "publish"}
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
    dag, after: datetime, week_start: datetime, week_end: datetime
) -> None:
    interval = dag.timetable.infer_manual_data_interval(run_after=after)
    assert (interval.start, interval.end) == (week_start, week_end)


def test_weekly_dag_alerts_when_the_week_is_not_published_by_friday_18(dag) -> None:
    from airflow.sdk.definitions.deadline import DeadlineReference

    from govpulse.run.deadlines import publication_deadline

    [alert] = dag.deadline
    assert alert.reference == DeadlineReference.DAGRUN_LOGICAL_DATE
    assert alert.callback.path == "govpulse.run.deadlines.on_deadline_missed"
    assert alert.callback.kwargs == {"kind": "weekly"}
    # a scheduled run's logical date is the start of its week: the alert falls on Friday 18:00
    # Asia/Almaty of the day the week closes
    interval = dag.timetable.infer_manual_data_interval(
        run_after=datetime(2026, 11, 20, 0, 1, tzinfo=ALMATY))
    assert interval.start + alert.interval == publication_deadline(interval.start)
    assert (interval.start + alert.interval).astimezone(ALMATY) == datetime(
        2026, 11, 20, 18, tzinfo=ALMATY)


@pytest.fixture(scope="module")
def bag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


@pytest.mark.parametrize(("dag_id", "order"), [
    ("monthly_incidents", ["start", "land", "validate_raw", "dbt_transform",
                           "validate_candidates", "dbt_marts", "publish"]),
    # the annual tables rate published weeks: the registry is loaded, nothing is landed
    ("annual_ratings", ["start", "land", "dbt_transform", "validate_candidates", "dbt_marts",
                        "publish"]),
])
def test_monthly_and_annual_dags_write_audit_publish(bag, dag_id: str, order: list) -> None:
    dag = bag.get_dag(dag_id)
    assert sorted(t.task_id for t in dag.tasks) == sorted(order)
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert dag.get_task(upstream).downstream_task_ids == {downstream}
    kind = dag_id.split("_")[0]
    assert dag.get_task("dbt_transform").selector == f"{kind}_transform"
    assert dag.get_task("dbt_marts").selector == f"{kind}_marts"
    assert dag.max_active_runs == 1 and dag.max_active_tasks == 1
    assert not dag.deadline  # METHODOLOGY §0 sets a deadline for weeks only


def test_monthly_schedule_gives_the_calendar_month_in_almaty(bag) -> None:
    dag = bag.get_dag("monthly_incidents")
    interval = dag.timetable.infer_manual_data_interval(
        run_after=datetime(2026, 11, 1, 0, 1, tzinfo=ALMATY))
    assert (interval.start, interval.end) == (datetime(2026, 10, 1, tzinfo=ALMATY),
                                              datetime(2026, 11, 1, tzinfo=ALMATY))


def test_annual_dag_rates_the_year_before_its_january_run(bag) -> None:
    from govpulse.orchestration.dags import ANNUAL
    from govpulse.periods import DEFAULT_TERRITORY

    dag = bag.get_dag("annual_ratings")
    info = dag.timetable.next_dagrun_info(last_automated_data_interval=None,
                                          restriction=_restriction(datetime(2026, 6, 1,
                                                                            tzinfo=ALMATY)))
    run_at = info.logical_date.astimezone(ALMATY)
    assert (run_at.month, run_at.day, run_at.hour) == (1, 15, 12)
    assert ANNUAL.period_of({"logical_date": info.logical_date},
                            DEFAULT_TERRITORY) == str(run_at.year - 1)


def _restriction(earliest: datetime):
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=earliest, latest=None, catchup=False)
