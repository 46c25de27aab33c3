"""How a starting run settles the runs before it (govpulse.run.pipeline.settle_earlier_runs), on a
real DuckDB warehouse: which runs it may declare dead, what it withdraws, and which earlier rows
the next raw validation audits. The killed-process versions are in tests/test_crash_safety.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from govpulse.run import pipeline
from govpulse.run.context import RunContext
from govpulse.settings import Paths
from govpulse.warehouse.schema import connect, ensure_schema

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _run(con: duckdb.DuckDBPyConnection, run_id: str, kind: str, status: str,
         started: datetime, period: str = "2026-11-13", revision: int | None = None) -> None:
    con.execute(
        "INSERT INTO ops.runs (run_id, kind, period_start, started_at, finished_at, status, "
        "revision_published) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [run_id, kind, period, started,
         None if status in ("running", "publishing") else started + timedelta(minutes=5),
         status, revision])


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A published weekly revision 1 (run w1), then weekly run w2 that appended revision 2 and
    failed before publishing."""
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as con:
        ensure_schema(con)
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("CREATE TABLE marts.rating_people_weekly (period_start DATE, "
                    "revision INTEGER, published_at TIMESTAMPTZ, unit_id VARCHAR)")
        _run(con, "w1", "weekly", "success", T0, revision=1)
        _run(con, "w2", "weekly", "failed", T0 + timedelta(hours=1))
        con.execute("INSERT INTO marts.rating_people_weekly VALUES "
                    "('2026-11-13', 1, ?, 'A'), ('2026-11-13', 2, ?, 'A')",
                    [T0, T0 + timedelta(hours=1)])
    return path


def _revisions(path: Path) -> list[int]:
    with connect(path, read_only=True) as con:
        return [r for (r,) in con.execute(
            "SELECT revision FROM marts.rating_people_weekly ORDER BY revision").fetchall()]


def _status(path: Path, run_id: str) -> tuple[str, str | None]:
    with connect(path, read_only=True) as con:
        return con.execute("SELECT status, message FROM ops.runs WHERE run_id = ?",
                           [run_id]).fetchone()


def test_a_run_of_another_kind_leaves_a_failed_runs_revision_alone(
    warehouse: Path, tmp_path: Path
) -> None:
    """w2 may be waiting for a retry of its publish: a monthly start must not take its rows."""
    with connect(warehouse) as con:
        pipeline.settle_earlier_runs(con, "monthly", "m1", tmp_path / "none.duckdb")
    assert _revisions(warehouse) == [1, 2]
    assert _status(warehouse, "w2")[0] == "failed"


def test_the_next_run_of_the_kind_withdraws_the_unpublished_revision(
    warehouse: Path, tmp_path: Path
) -> None:
    with connect(warehouse) as con:
        pipeline.settle_earlier_runs(con, "weekly", "w3", tmp_path / "none.duckdb")
    assert _revisions(warehouse) == [1]
    assert "withdrawn by run w3" in _status(warehouse, "w2")[1]


def test_running_runs_of_another_kind_are_not_declared_dead(
    warehouse: Path, tmp_path: Path
) -> None:
    with connect(warehouse) as con:
        _run(con, "m0", "monthly", "running", T0 + timedelta(hours=2), period="2026-11-01")
        pipeline.settle_earlier_runs(con, "weekly", "w3", tmp_path / "none.duckdb")
    assert _status(warehouse, "m0")[0] == "running"
    with connect(warehouse) as con:
        pipeline.settle_earlier_runs(con, "monthly", "m1", tmp_path / "none.duckdb")
    status, message = _status(warehouse, "m0")
    assert status == "interrupted" and "noticed when run m1 started" in message


def test_a_dead_publishing_run_is_settled_by_any_kind_from_the_published_file(
    warehouse: Path, tmp_path: Path
) -> None:
    """w4 was killed after its copy was renamed into place, before the warehouse was updated:
    the published file says how it ended, and the next start of any kind records that, before a
    publication of its own replaces the file's ops.runs."""
    published = tmp_path / "publish" / "warehouse.duckdb"
    published.parent.mkdir()
    finished = T0 + timedelta(hours=3, minutes=2)
    with duckdb.connect(str(published)) as pub:
        pub.execute("CREATE SCHEMA ops")
        pub.execute("CREATE TABLE ops.runs (run_id VARCHAR, status VARCHAR, "
                    "finished_at TIMESTAMPTZ, revision_published INTEGER, message VARCHAR)")
        pub.execute("INSERT INTO ops.runs VALUES ('w4', 'success', ?, 2, "
                    "'published revision 2')", [finished])
    with connect(warehouse) as con:
        _run(con, "w4", "weekly", "publishing", T0 + timedelta(hours=3))
        _run(con, "w5", "weekly", "publishing", T0 + timedelta(hours=4))  # not in the file
        pipeline.settle_earlier_runs(con, "monthly", "m1", published)
        w4 = con.execute("SELECT status, revision_published, finished_at FROM ops.runs "
                         "WHERE run_id = 'w4'").fetchone()
    assert w4 == ("success", 2, finished)
    assert _status(warehouse, "w5")[0] == "interrupted"


def test_rows_of_a_dead_run_are_audited_once_by_the_next_run_of_its_kind(
    warehouse: Path
) -> None:
    with connect(warehouse) as con:
        _run(con, "w6", "weekly", "interrupted", T0 + timedelta(hours=5), period="2026-11-20")
        _run(con, "m6", "monthly", "failed", T0 + timedelta(hours=5), period="2026-11-01")
        _run(con, "w7", "weekly", "failed", T0 + timedelta(hours=6), period="2026-11-20")
        for run_id in ("w6", "m6", "w7"):
            con.execute("INSERT INTO ops.loaded_files (file_hash, dataset, file, load_id, run_id)"
                        " VALUES (?, 'mentions', ?, 1, ?)", [run_id, f"{run_id}.csv", run_id])
        # w7 got as far as validating (and failed): its rows were audited
        con.execute("INSERT INTO ops.validations (run_id, suite, success) "
                    "VALUES ('w7', 'raw_mentions', false)")
    paths = Paths.resolve(warehouse=warehouse)
    weekly = RunContext("w8", "weekly", date(2026, 11, 27), paths)
    monthly = RunContext("m8", "monthly", date(2026, 12, 1), paths)
    assert pipeline._unaudited_runs(warehouse, weekly) == [("w6", date(2026, 11, 20))]
    assert pipeline._unaudited_runs(warehouse, monthly) == [("m6", date(2026, 11, 1))]
