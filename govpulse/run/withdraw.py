"""Withdraw a wrong publication for good: `govpulse withdraw <kind> <period> --reason "…"`.

A withdrawal is a row of `marts.withdrawals` whose revision is above every revision the kind's
histories hold for the period. It is published the way a run is: an ops.runs row (running ->
publishing -> success), the published file written atomically with the outcome inside it, then
Parquet and, for a week, its bulletin. The history rows stay; the `_current` views (and so the
annual tables, `govpulse show` and the bulletin) leave the period out while the withdrawal is its
latest revision. Runs of other periods never bring it back (they publish the warehouse, which
holds the withdrawal); a run of that very period appends a revision above it (dbt macro
append_revision), so the period is rated again only when someone runs it again.

A withdraw holds the warehouse like a run (govpulse.run.lock) and settles dead runs of its kind
the way a run's start does; one killed before its publication is withdrawn in turn by the next
run of its kind (its row has the run's `published_at`, as unpublished revisions do).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from govpulse.periods import period_end_of, period_start_of
from govpulse.run import lock as run_lock
from govpulse.run import pipeline
from govpulse.run.context import RunContext
from govpulse.settings import Paths
from govpulse.warehouse.schema import connect, ensure_schema
from govpulse.warehouse.sql import first_row

log = logging.getLogger(__name__)

# The columns of the dbt model marts.withdrawals (dbt_project/models/marts/withdrawals.sql):
# created here too when a warehouse's runs have not built it yet.
WITHDRAWALS_DDL = """
CREATE TABLE IF NOT EXISTS marts.withdrawals (
    kind VARCHAR, period_start DATE, period_end DATE, revision INTEGER,
    published_at TIMESTAMPTZ, reason VARCHAR, run_id VARCHAR
)
"""
NAMES = {"weekly": "week {:%Y-%m-%d}", "monthly": "month {:%Y-%m}", "annual": "year {:%Y}"}


def period_name(kind: str, start: date) -> str:
    return NAMES[kind].format(start)


def withdraw(paths: Paths, kind: str, period: str | date, reason: str,
             wait: bool = True, stream: TextIO | None = None) -> dict[str, Any]:
    """Publish the withdrawal of the kind's period; return the publication's outcome."""
    start = period_start_of(kind, period)
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("say why the publication is withdrawn: --reason \"…\" (it is "
                         "published with the withdrawal)")
    with run_lock.hold(paths.warehouse, f"withdraw {kind}", start.isoformat(), wait=wait,
                       stream=stream):
        run, revision = _register(paths, kind, start, reason)
        try:
            return _publish(run, revision)
        except BaseException as exc:
            pipeline.fail_run(run, f"withdraw: {exc}")
            raise


def _register(paths: Paths, kind: str, start: date, reason: str) -> tuple[RunContext, int]:
    """Settle earlier runs of the kind, check there is a publication to withdraw, and record
    the withdraw run and its withdrawal row (one transaction); the run and its revision."""
    if not paths.warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {paths.warehouse}: nothing was published "
                                "from it")
    now = datetime.now(UTC)
    run_id = f"withdraw-{kind}-{start.isoformat()}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    name = period_name(kind, start)
    with connect(paths.warehouse) as con:
        ensure_schema(con)
        pipeline.settle_earlier_runs(con, kind, run_id, paths.published_file)
        con.execute(WITHDRAWALS_DDL)
        _require_aware_views(con, kind)
        latest = _latest_revision(con, kind, start)
        if latest is None:
            raise ValueError(f"{name} has no published {kind} rating in {paths.warehouse}: "
                             "nothing to withdraw")
        withdrawn = con.execute(
            "SELECT revision, published_at, reason FROM marts.withdrawals "
            "WHERE kind = ? AND period_start = ? AND revision > ? "
            "ORDER BY revision DESC LIMIT 1", [kind, start, latest]).fetchone()
        if withdrawn:
            raise ValueError(f"{name} is withdrawn already (revision {withdrawn[0]}, "
                             f"{withdrawn[1]:%Y-%m-%d %H:%M %Z}: {withdrawn[2]})")
        revision = latest + 1
        con.execute("BEGIN")
        con.execute(
            "INSERT INTO ops.runs (run_id, kind, period_start, started_at, status, message) "
            "VALUES (?, ?, ?, ?, 'running', ?)",
            [run_id, kind, start, now, f"withdrawing {name}: {reason}"])
        con.execute(
            "INSERT INTO marts.withdrawals VALUES (?, ?, ?, ?, ?, ?, ?)",
            [kind, start, period_end_of(kind, start), revision, now, reason, run_id])
        con.execute("COMMIT")
    log.info("%s: withdrawal recorded as revision %d", name, revision)
    return RunContext(run_id, kind, start, paths, published_at=now.isoformat(),
                      docs=False), revision


def _require_aware_views(con: Any, kind: str) -> None:
    """The _current views must know withdrawals: views dbt created before they existed are
    replaced by the next run of the kind."""
    stale = [v for v, sql in con.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'marts' AND view_name IN (SELECT unnest(?::VARCHAR[]) || '_current')",
        [list(pipeline.MARTS[kind])]).fetchall() if "withdrawals" not in sql]
    if stale:
        raise ValueError(f"the views {', '.join(sorted(stale))} predate withdrawals: run any "
                         f"{kind} period once with this version (it re-creates them), then "
                         "withdraw")


def _latest_revision(con: Any, kind: str, start: date) -> int | None:
    """The period's latest revision over the kind's histories (None: never published)."""
    present = {t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'marts'").fetchall()}
    revisions = [first_row(con.execute(
                     f"SELECT max(revision) FROM marts.{mart} WHERE period_start = ?", [start]))[0]
                 for mart in pipeline.MARTS[kind] if mart in present]
    found = [r for r in revisions if r is not None]
    return max(found) if found else None


def _publish(run: RunContext, revision: int) -> dict[str, Any]:
    """Publish the withdrawal as a run publishes (pipeline.publish_outcome), with Parquet and
    the week's bulletin, which now says the week is withdrawn."""
    message = f"withdrew {period_name(run.kind, run.period_start)} as revision {revision}"
    done = pipeline.publish_outcome(run, "success", revision, message)
    return {**done, "run_id": run.run_id, "period_start": run.period_start, "message": message}


def annual_note(kind: str, start: date, published_file: Path) -> str | None:
    """A withdrawn week still counts in an annual table published before: say which year to
    run again."""
    if kind != "weekly" or not published_file.exists():
        return None
    with connect(published_file, read_only=True) as con:
        exists = first_row(con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' "
            "AND table_name = 'rating_annual'"))[0]
        if not exists or not first_row(con.execute(
                "SELECT count(*) FROM marts.rating_annual WHERE year = ?",
                [start.year]))[0]:
            return None
    return (f"the annual tables of {start.year} published before include this week: run "
            f"`govpulse run annual --year {start.year}` to sum up the year without it")
