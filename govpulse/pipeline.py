"""The steps of the weekly run, as plain functions the Airflow tasks call (and tests can too).

Every step that writes the private warehouse opens it, works and closes it: DuckDB allows one
writer process at a time, and the Airflow pool `duckdb_warehouse` (1 slot) serialises them.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from govpulse.config import Paths, ensure_pseudonym_key, parse_week
from ingestion.landing import land_inbox
from ingestion.registry import load_registry
from ingestion.warehouse import connect, ensure_schema

log = logging.getLogger(__name__)

WEEKLY_MARTS = (
    "rating_people_weekly",
    "rating_region_pages_weekly",
    "rating_district_pages_weekly",
    "rating_insta_akims_weekly",
)


class ValidationFailed(Exception):
    """A Great Expectations suite failed: nothing is published."""


def start_run(paths: Paths, period_start: str | date, kind: str = "weekly") -> dict[str, Any]:
    """Register the run in ops.runs; return the run context every later step receives."""
    week = parse_week(period_start)
    now = datetime.now(UTC)
    run_id = f"{kind}-{week.isoformat()}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    with connect(paths.warehouse) as con:
        ensure_schema(con)
        con.execute(
            "INSERT INTO ops.runs (run_id, kind, period_start, started_at, status) "
            "VALUES (?, ?, ?, ?, 'running')",
            [run_id, kind, week, now],
        )
    return {
        "run_id": run_id,
        "kind": kind,
        "period_start": week.isoformat(),
        "period_end": (week + timedelta(days=7)).isoformat(),
        "published_at": now.isoformat(),
        "paths": paths.as_strings(),
    }


def paths_of(run: dict[str, Any]) -> Paths:
    return Paths(**{k: Path(v) for k, v in run["paths"].items()})


def land(run: dict[str, Any]) -> dict[str, Any]:
    """Check and load the registry, then land the new inbox files."""
    paths = paths_of(run)
    with connect(paths.warehouse) as con:
        registry_rows = load_registry(con, paths.registry)
        report = land_inbox(con, paths.inbox, run["run_id"])
        con.execute(
            """
            UPDATE ops.runs SET rows_loaded = ?, rows_loaded_total = ?, rows_quarantined = ?,
                   files_loaded = ?, files_skipped = ?
            WHERE run_id = ?
            """,
            [json.dumps(report.rows_loaded), sum(report.rows_loaded.values()),
             report.rows_quarantined, report.files_loaded, report.files_skipped,
             run["run_id"]],
        )
    log.info("registry: %s", registry_rows)
    log.info(report.summary())
    if report.rows_quarantined:
        log.warning(
            "%d rows quarantined: see ops.quarantine where run_id = '%s'",
            report.rows_quarantined, run["run_id"],
        )
    return {
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "files_loaded": report.files_loaded,
        "files_skipped": report.files_skipped,
    }


def validate(run: dict[str, Any], stage: str) -> str:
    """Run the Great Expectations suites of a stage (`raw` or `candidates`) and record them."""
    from govpulse import validation  # GX is heavy: imported only when a run validates

    paths = paths_of(run)
    week = date.fromisoformat(run["period_start"])
    check = validation.validate_raw if stage == "raw" else validation.validate_candidates
    report = check(paths.warehouse, run["run_id"], week)
    validation.record(paths.warehouse, report)
    summary = report.summary()
    log.info(summary)
    if not report.success:
        raise ValidationFailed(f"validation of {stage} failed, nothing published: {summary}")
    return summary


def dbt_env(run: dict[str, Any]) -> dict[str, str]:
    """Environment of the dbt process: the warehouse path and the pseudonym key."""
    paths = paths_of(run)
    ensure_pseudonym_key(paths.warehouse)
    return {"GOVPULSE_WAREHOUSE": str(paths.warehouse), "DO_NOT_TRACK": "1"}


def dbt_vars(run: dict[str, Any]) -> dict[str, str]:
    return {
        "period_start": run["period_start"],
        "published_at": run["published_at"],
        "run_id": run["run_id"],
    }


def publish(run: dict[str, Any]) -> dict[str, Any]:
    """Record the outcome in ops.runs, then publish marts and ops atomically."""
    from govpulse.publish import publish as publish_file

    paths = paths_of(run)
    with connect(paths.warehouse) as con:
        revisions = [
            row[0]
            for mart in WEEKLY_MARTS
            for row in con.execute(
                f"SELECT max(revision) FROM marts.{mart} "
                "WHERE period_start = ? AND published_at = ?::TIMESTAMPTZ",
                [run["period_start"], run["published_at"]],
            ).fetchall()
            if row[0] is not None
        ]
        revision = max(revisions) if revisions else None
        status = "success" if revision else "unchanged"
        con.execute(
            "UPDATE ops.runs SET status = ?, finished_at = now(), revision_published = ?, "
            "message = ? WHERE run_id = ?",
            [status, revision,
             f"published revision {revision}" if revision else "nothing changed",
             run["run_id"]],
        )
    target = publish_file(paths.warehouse, paths.published_file)
    log.info("published %s (%s)", target, status)
    return {"status": status, "revision": revision, "published_file": str(target)}


def fail_run(run: dict[str, Any] | None, message: str) -> None:
    """Mark the run failed in ops.runs (the published file is left as it was)."""
    if not run:
        return
    with connect(paths_of(run).warehouse) as con:
        con.execute(
            "UPDATE ops.runs SET status = 'failed', finished_at = now(), message = ? "
            "WHERE run_id = ?",
            [message[:2000], run["run_id"]],
        )
