"""The steps of a rating run (weekly, monthly, annual), as plain functions the Airflow tasks call
(and tests can too).

Every step that writes the private warehouse opens it, works and closes it: DuckDB allows one
writer process at a time, and the Airflow pool `duckdb_warehouse` (1 slot) serialises them.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from govpulse.config import Paths, ensure_pseudonym_key, period_end_of, period_start_of
from ingestion.landing import land_inbox
from ingestion.registry import load_registry
from ingestion.warehouse import MEMORY_LIMIT_ENV, connect, ensure_schema, memory_limit

log = logging.getLogger(__name__)

WEEKLY_MARTS = (
    "rating_people_weekly",
    "rating_region_pages_weekly",
    "rating_district_pages_weekly",
    "rating_insta_akims_weekly",
)
# The revisioned histories each run kind appends to.
MARTS = {
    "weekly": WEEKLY_MARTS,
    "monthly": ("rating_incidents_monthly", "incident_stats_monthly"),
    "annual": ("rating_annual",),
}
# dbt var period_kind of each run kind (macros/periods.sql)
PERIOD_KINDS = {"weekly": "week", "monthly": "month", "annual": "year"}


class ValidationFailed(Exception):
    """A Great Expectations suite failed: nothing is published."""


def start_run(paths: Paths, period_start: str | date, kind: str = "weekly",
              docs: bool = True) -> dict[str, Any]:
    """Register the run in ops.runs; return the run context every later step receives."""
    start = period_start_of(kind, period_start)
    end = period_end_of(kind, start)
    now = datetime.now(UTC)
    run_id = f"{kind}-{start.isoformat()}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    with connect(paths.warehouse) as con:
        ensure_schema(con)
        if kind == "annual":
            _require_published_weeks(con, start, end)
        con.execute(
            "INSERT INTO ops.runs (run_id, kind, period_start, started_at, status) "
            "VALUES (?, ?, ?, ?, 'running')",
            [run_id, kind, start, now],
        )
    return {
        "run_id": run_id,
        "kind": kind,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "published_at": now.isoformat(),
        "paths": paths.as_strings(),
        "docs": docs,
    }


def _require_published_weeks(con: Any, start: date, end: date) -> None:
    """The annual tables summarise published weeks: say so plainly when there are none."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = ?",
        [WEEKLY_MARTS[0]],
    ).fetchone()[0]
    weeks = con.execute(
        f"SELECT count(DISTINCT period_start) FROM marts.{WEEKLY_MARTS[0]} "
        "WHERE period_start >= ? AND period_start < ?", [start, end],
    ).fetchone()[0] if exists else 0
    if not weeks:
        raise ValueError(
            f"no weekly rating of {start.year} is published in this warehouse: run "
            f"`govpulse run weekly` (or a backfill) for its weeks before the annual tables"
        )


def paths_of(run: dict[str, Any]) -> Paths:
    return Paths(**{k: Path(v) for k, v in run["paths"].items()})


def land(run: dict[str, Any]) -> dict[str, Any]:
    """Check and load the registry, then land the new inbox files. Annual runs rate published
    weeks: they load the registry (expert scores) and land nothing (nor validate raw rows)."""
    paths = paths_of(run)
    with connect(paths.warehouse) as con:
        registry_rows = load_registry(con, paths.registry, run["run_id"])
        if run["kind"] == "annual":
            log.info("registry: %s", registry_rows)
            return {"rows_loaded": {}, "rows_quarantined": 0, "files_loaded": 0,
                    "files_skipped": 0}
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
    start = date.fromisoformat(run["period_start"])
    if stage == "raw":
        report = validation.validate_raw(paths.warehouse, run["run_id"], start)
    else:
        report = validation.validate_candidates(paths.warehouse, run["run_id"], start,
                                                kind=run["kind"])
    validation.record(paths.warehouse, report)
    # GX results for the Data Docs publish renders; a failed result is kept too (and a
    # store that fails does not stop a run the suites passed: the docs are secondary)
    try:
        from govpulse.data_docs import store_results

        store_results(paths.warehouse, report)
    except Exception:
        log.warning("could not store the GX results of %s for the Data Docs", stage,
                    exc_info=True)
    summary = report.summary()
    log.info(summary)
    if not report.success:
        raise ValidationFailed(f"validation of {stage} failed, nothing published: {summary}")
    return summary


def dbt_env(run: dict[str, Any]) -> dict[str, str]:
    """Environment of the dbt process: the warehouse path and the pseudonym key."""
    paths = paths_of(run)
    ensure_pseudonym_key(paths.warehouse)
    # every env var profiles.yml reads is set: dbt's partial parsing re-parses everything when a
    # profile env var falls back to its default (dbt-core #5155)
    return {"GOVPULSE_WAREHOUSE": str(paths.warehouse), MEMORY_LIMIT_ENV: memory_limit(),
            "DO_NOT_TRACK": "1"}


def dbt_vars(run: dict[str, Any]) -> dict[str, str]:
    return {
        "period_start": run["period_start"],
        "period_kind": PERIOD_KINDS[run["kind"]],
        "published_at": run["published_at"],
        "run_id": run["run_id"],
    }


def publish(run: dict[str, Any]) -> dict[str, Any]:
    """Record the outcome in ops.runs, publish marts and ops atomically, then their Parquet."""
    from govpulse.parquet_export import export_parquet
    from govpulse.publish import publish as publish_file

    paths = paths_of(run)
    with connect(paths.warehouse) as con:
        revisions = [
            row[0]
            for mart in MARTS[run["kind"]]
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
    # Parquet follows the published file (never precedes it), one folder swapped per relation.
    exported = export_parquet(target)
    log.info("wrote Parquet of %d rating histories under %s", len(exported),
             target.parent / "parquet")
    bulletin = _write_bulletin(run, target, paths) if run["kind"] == "weekly" else None
    docs = _write_docs(run, paths) if run.get("docs", True) else {}
    return {"status": status, "revision": revision, "published_file": str(target),
            "bulletin": str(bulletin) if bulletin else None, "docs": docs}


def _write_docs(run: dict[str, Any], paths: Paths) -> dict[str, str]:
    """dbt docs and the run's Great Expectations Data Docs next to the published data (the data
    are published already: a failure here is logged, not fatal)."""
    from govpulse.data_docs import build_data_docs
    from govpulse.dbt_docs import build_dbt_docs

    docs: dict[str, str] = {}
    try:
        docs["dbt"] = str(build_dbt_docs(paths.warehouse, paths.docs_dir / "dbt"))
    except (RuntimeError, OSError) as exc:
        log.error("dbt docs not generated: %s", exc)
    try:
        docs["gx"] = str(build_data_docs(paths.warehouse, run["run_id"], paths.docs_dir / "gx"))
    except (LookupError, RuntimeError, OSError) as exc:
        log.error("Great Expectations Data Docs not generated: %s", exc)
    return docs


def _write_bulletin(run: dict[str, Any], published_file: Path, paths: Paths) -> Path | None:
    """The week's bulletin from the published file (rewritten on every run: its freshness
    block tells when the data was last checked)."""
    from govpulse.bulletin import write_bulletin

    try:
        page = write_bulletin(published_file, date.fromisoformat(run["period_start"]),
                              paths.bulletin_dir)
    except ValueError as exc:  # no unit of any weekly rating in the registry: nothing to show
        log.warning("no bulletin: %s", exc)
        return None
    log.info("bulletin: %s", page)
    return page


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
