"""The publication deadline (METHODOLOGY §0): a week is due by Friday 18:00 Asia/Almaty of the day
it closes; a run that publishes later records one `deadline_missed` alert in ops.alerts (one per
week, none for a re-run of a published week) and still publishes; Airflow's Deadline Alert
callback records the same when the run is not done in time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from govpulse.run.context import RunContext
from govpulse.run.deadlines import check_run, on_deadline_missed, publication_deadline
from govpulse.settings import Paths
from govpulse.territory import Territory
from tests.support import write_files

ALMATY = ZoneInfo("Asia/Almaty")
OLD_WEEK = date(2026, 11, 6)  # due 2026-11-13 18:00, long past
HEADER = ("platform,mention_id,published_at,text,author_id,author_type,likes,sentiment,"
          "entity_id\n")


@pytest.mark.parametrize(("week", "due"), [
    (date(2026, 11, 13), datetime(2026, 11, 20, 18, tzinfo=ALMATY)),
    ("2026-11-06", datetime(2026, 11, 13, 18, tzinfo=ALMATY)),
    # the week of the 2024-03-01 switch from UTC+6 to UTC+5 is due at 18:00 local, UTC+5
    (date(2024, 2, 23), datetime(2024, 3, 1, 18, tzinfo=ALMATY)),
])
def test_a_week_is_due_on_the_friday_it_closes_at_18_almaty(week: date | str,
                                                             due: datetime) -> None:
    deadline = publication_deadline(week)
    assert deadline == due
    assert deadline.tzinfo is not None and deadline.utcoffset() == timedelta(hours=5)
    assert deadline.isoformat() == due.isoformat()


def test_2026_11_13_is_due_2026_11_20_18_00_plus_05() -> None:
    assert publication_deadline(date(2026, 11, 13)).isoformat() == "2026-11-20T18:00:00+05:00"


def _alerts(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT run_id, kind, period_start, deadline, message "
                           "FROM ops.alerts ORDER BY noticed_at").fetchall()


def test_a_run_in_time_records_nothing_and_a_late_one_records_one_alert(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    run = RunContext("r1", "weekly", date(2026, 11, 13), Paths.resolve(warehouse=warehouse))
    in_time = datetime(2026, 11, 20, 17, 59, tzinfo=ALMATY)
    assert not check_run(run, "published", now=in_time)
    assert not warehouse.exists()
    late = datetime(2026, 11, 20, 18, 1, tzinfo=ALMATY)
    assert check_run(run, "failed at land", now=late)
    assert check_run(run, "published", now=late + timedelta(hours=1))  # noticed twice, kept once
    [(run_id, kind, period, deadline, message)] = _alerts(warehouse)
    assert (run_id, kind, period) == ("r1", "deadline_missed", date(2026, 11, 13))
    assert deadline == datetime(2026, 11, 20, 13, tzinfo=UTC)
    assert "failed at land" in message
    # monthly and annual runs have no publication deadline
    assert not check_run(replace(run, kind="monthly", run_id="m"), "published", now=late)


def test_one_alert_per_week_and_none_for_a_rerun_of_a_published_week(tmp_path: Path) -> None:
    from govpulse.warehouse.schema import connect, ensure_schema

    warehouse = tmp_path / "w.duckdb"
    paths = Paths.resolve(warehouse=warehouse)
    late = datetime(2026, 11, 20, 18, 1, tzinfo=ALMATY)
    first = RunContext("r1", "weekly", date(2026, 11, 13), paths)
    assert check_run(first, "failed at dbt_marts", now=late)
    # its re-run publishes the week for the first time: the same miss, not a second alert
    assert check_run(replace(first, run_id="r2"), "published", now=late + timedelta(hours=2))
    [(run_id, _, _, _, message)] = _alerts(warehouse)
    assert run_id == "r1" and "failed at dbt_marts" in message
    with connect(warehouse) as con:
        ensure_schema(con)
        con.execute("INSERT INTO ops.runs (run_id, kind, period_start, status) "
                    "VALUES ('r2', 'weekly', '2026-11-13', 'success')")
    # a later re-run (or backfill) of the published week publishes a revision: no deadline
    assert not check_run(replace(first, run_id="r3"), "published", now=late + timedelta(days=30))
    assert len(_alerts(warehouse)) == 1
    # a week first published long after its deadline (a backfill) says so
    old = replace(first, run_id="b1", period_start=date(2026, 10, 2))
    assert check_run(old, "published", now=late)
    assert "a backfill or catch-up: first publication" in _alerts(warehouse)[-1][4]


def test_airflow_deadline_callback_records_the_run_still_running(tmp_path: Path) -> None:
    paths = Paths.resolve(tmp_path / "inbox", tmp_path / "registry", tmp_path / "w.duckdb",
                          tmp_path / "publish")
    context = {"dag_run": {"run_id": "scheduled__2026-11-05T19:00:00+00:00", "state": "running",
                           "conf": paths.as_strings(),
                           "data_interval_start": "2026-11-05T19:00:00+00:00"},
               "deadline": {"id": "x", "deadline_time": "2026-11-13T13:00:00+00:00"}}
    on_deadline_missed(context=context, kind="weekly")
    on_deadline_missed(context=context, kind="weekly")
    [(run_id, kind, period, _, message)] = _alerts(paths.warehouse)
    assert run_id == "airflow:scheduled__2026-11-05T19:00:00+00:00"  # not registered in ops.runs
    assert (kind, period) == ("deadline_missed", OLD_WEEK)
    assert "still running" in message


def test_a_late_weekly_run_records_the_miss_and_still_publishes(
    airflow_db: Path, tmp_path: Path
) -> None:
    from govpulse.orchestration.runner import run_weekly

    registry = write_files(tmp_path / "registry", {
        "entities.csv": "entity_id,level,name_ru\nA,region,Первая\n",
        "populations.csv": "entity_id,population,population_date\nA,1000,2023-01-01\n",
        "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind\n",
        "aliases.csv": "entity_id,alias\n",
        "excluded_sources.csv": "platform,source_id,reason\n",
    })
    inbox = write_files(tmp_path / "inbox", {
        "mentions/w.csv": HEADER + "vk,m1,2026-11-07 12:00,x,a1,person,1,neutral,A\n"})
    paths = Paths.resolve(inbox, registry, tmp_path / "w.duckdb", tmp_path / "publish")
    outcome = run_weekly(paths, OLD_WEEK)
    assert outcome.ok, outcome.reason
    assert outcome.run["status"] == "success" and outcome.run["revision_published"] == 1
    [(run_id, kind, period, deadline, message)] = _alerts(paths.warehouse)
    assert (run_id, kind, period) == (outcome.run["run_id"], "deadline_missed", OLD_WEEK)
    assert deadline == publication_deadline(OLD_WEEK)
    assert "published" in message
    assert outcome.alerts and "deadline_missed" in outcome.alerts[0]
    # the alert is in the published file too (ops is published)
    assert [r[0] for r in _alerts(paths.published_file)] == [run_id]


def test_a_territory_has_its_own_deadline_in_its_own_zone(tmp_path: Path) -> None:
    moscow = Territory(territory_id="ru-test", timezone="Europe/Moscow", week_starts=0,
                       deadline=time(12, 0))
    due = publication_deadline(date(2026, 11, 16), moscow)
    assert due == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 12:00 Moscow (UTC+3)
    registry = tmp_path / "ru-test"
    registry.mkdir()
    (registry / "territory.yml").write_text(
        "timezone: Europe/Moscow\nweek_starts: monday\ndeadline: '12:00'\n", encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"
    run = RunContext("r1", "weekly", date(2026, 11, 16),
                     Paths.resolve(registry=registry, warehouse=warehouse))
    assert not check_run(run, "published", now=due)
    assert check_run(run, "published", now=due + timedelta(minutes=1))
    [(_, _, _, deadline, message)] = _alerts(warehouse)
    assert "2026-11-23 12:00 Europe/Moscow" in message
    assert deadline == due
