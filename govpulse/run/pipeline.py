"""The steps of a rating run (weekly, monthly, annual), as plain functions the Airflow tasks call
(and tests can too).

Every step that writes the private warehouse opens it, works and closes it: DuckDB allows one
writer process at a time, and the Airflow pool `duckdb_warehouse` (1 slot) serialises them.

A run's status in ops.runs: running -> publishing -> success | unchanged, or failed, or
interrupted. A run killed mid-way (SIGKILL, power cut) cannot say so itself: the next run of the
same kind does, when it starts (one run of a DAG at a time, `max_active_runs=1`). It marks the
earlier `running` runs `interrupted`; a `publishing` one is settled from the published file (the
outcome is written into the copy before it is renamed into place, so the published ops.runs
tells whether the rename happened). A revision that `dbt_marts` appended for a run that then
failed or was interrupted before publishing was never in a published file: it is withdrawn, and
the re-run appends the same content again as that revision, published this time.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govpulse.warehouse.sql import first_row

if TYPE_CHECKING:
    import duckdb

from govpulse.periods import UNIT_OF_KIND, period_end_of, period_start_of, refuse_open_period
from govpulse.ratings import of_kind
from govpulse.run import notify
from govpulse.run.context import RunContext
from govpulse.settings import MEMORY_LIMIT_ENV, Paths, ensure_pseudonym_key, memory_limit
from govpulse.territory import load_territory
from govpulse.warehouse.schema import connect, ensure_schema
from ingestion.landing import land_inbox
from ingestion.registry import load_registry

log = logging.getLogger(__name__)

WEEKLY_MARTS = tuple(r.history for r in of_kind("weekly"))
# The monthly fakes report (METHODOLOGY §8): its figures and the two lists sharing their revisions.
FAKES_MARTS = ("fakes_monthly", "fakes_unrefuted_monthly", "fakes_by_body_monthly")
# The revisioned histories each run kind appends to: its catalogued ratings' (govpulse.ratings),
# and the monthly reports (no rating): incident statistics and fakes.
MARTS = {
    "weekly": WEEKLY_MARTS,
    "monthly": (*(r.history for r in of_kind("monthly")), "incident_stats_monthly",
                *FAKES_MARTS),
    "annual": tuple(r.history for r in of_kind("annual")),
}
# dbt var period_kind of each run kind (macros/periods.sql)


class ValidationFailed(Exception):
    """A Great Expectations suite failed: nothing is published."""


class PublishFailed(Exception):
    """The publication could not be written (a full disk): nothing published was changed, and
    a retry would not help until someone acts."""


def start_run(paths: Paths, period_start: str | date, kind: str = "weekly",
              docs: bool = True) -> RunContext:
    """Register the run in ops.runs; return the run context every later step receives."""
    territory = load_territory(paths.registry)  # a bad territory.yml stops the run first
    start = period_start_of(kind, period_start, territory)
    refuse_open_period(kind, start, territory=territory)  # a period not over is incomplete
    end = period_end_of(kind, start)
    now = datetime.now(UTC)
    run_id = f"{kind}-{start.isoformat()}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    with connect(paths.warehouse) as con:
        ensure_schema(con)
        settle_earlier_runs(con, kind, run_id, paths.published_file)
        if kind == "annual":
            _require_published_weeks(con, start, end)
        con.execute(
            "INSERT INTO ops.runs (run_id, kind, period_start, started_at, status) "
            "VALUES (?, ?, ?, ?, 'running')",
            [run_id, kind, start, now],
        )
    return RunContext(run_id, kind, start, paths, published_at=now.isoformat(), docs=docs)


def settle_earlier_runs(con: Any, kind: str, run_id: str, published_file: Path) -> None:
    """Before a run starts: earlier runs of its kind that never finished are settled (see the
    module docstring), and the revisions of runs that never published are withdrawn."""
    # a `publishing` run of any kind is dead: publishing holds the warehouse's one slot, as this
    # start does (and settling it now keeps its outcome before another kind's publication
    # copies the warehouse's ops.runs over the published file's). A `running` one of another
    # kind may be waiting for the slot: only this kind's are settled.
    for earlier, status in con.execute(
        "SELECT run_id, status FROM ops.runs WHERE status = 'publishing' "
        "OR (kind = ? AND status = 'running') ORDER BY started_at", [kind],
    ).fetchall():
        outcome = _published_outcome(published_file, earlier) if status == "publishing" else None
        if outcome:
            con.execute(
                "UPDATE ops.runs SET status = ?, finished_at = ?, revision_published = ?, "
                "message = ? WHERE run_id = ?", [*outcome, earlier])
            log.warning("run %s was stopped after it published: recorded as %s", earlier,
                        outcome[0])
            continue
        con.execute(
            "UPDATE ops.runs SET status = 'interrupted', finished_at = now(), message = ? "
            "WHERE run_id = ?",
            [f"interrupted: stopped while {status} (killed or crashed), nothing published; "
             f"noticed when run {run_id} started", earlier])
        log.warning("run %s stopped while %s: marked interrupted", earlier, status)
    _withdraw_unpublished_revisions(con, kind, run_id)


def _published_outcome(published_file: Path, run_id: str) -> list[Any] | None:
    """The outcome of a run as the published file records it, if the file has it as finished."""
    if not published_file.exists():
        return None
    try:
        with connect(published_file, read_only=True) as pub:
            row = pub.execute(
                "SELECT status, finished_at, revision_published, message FROM ops.runs "
                "WHERE run_id = ? AND status IN ('success', 'unchanged')", [run_id],
            ).fetchone()
    except Exception:  # an unreadable published file: treat as not published
        log.warning("could not read %s to settle run %s", published_file, run_id, exc_info=True)
        return None
    return list(row) if row else None


def _withdraw_unpublished_revisions(con: Any, kind: str, run_id: str) -> None:
    """Delete the rows the rating histories got from runs of this kind that failed or were
    interrupted before publishing (their `published_at` is the run's `started_at`) and that no
    later publication included. Only this kind's: a run of another DAG marked failed may be
    waiting for a retry that publishes its revision (one run of a DAG at a time, so a run of
    this kind that failed is over)."""
    runs = [r for (r,) in con.execute(
        """
        SELECT started_at FROM ops.runs
        WHERE kind = ? AND status IN ('failed', 'interrupted') AND revision_published IS NULL
          AND started_at > coalesce((SELECT max(finished_at) FROM ops.runs
                                     WHERE status IN ('success', 'unchanged')),
                                    '-infinity'::TIMESTAMPTZ)
        """, [kind]).fetchall()]
    if not runs:
        return
    histories = [t for (t,) in con.execute(
        """
        SELECT c.table_name FROM duckdb_columns() c JOIN duckdb_tables() t
          ON t.database_name = c.database_name AND t.schema_name = c.schema_name
         AND t.table_name = c.table_name
        WHERE c.database_name = current_database() AND c.schema_name = 'marts'
          AND c.column_name IN ('published_at', 'revision')
        GROUP BY c.table_name HAVING count(*) = 2 ORDER BY c.table_name
        """).fetchall()]
    for started_at in runs:
        withdrawn = 0
        for table in histories:
            withdrawn += first_row(con.execute(
                f'DELETE FROM marts."{table}" WHERE published_at = ?', [started_at],
            ))[0]
        if withdrawn:
            con.execute(
                "UPDATE ops.runs SET message = concat_ws('; ', message, ?) "
                "WHERE started_at = ? AND status IN ('failed', 'interrupted')",
                [f"its unpublished revision ({withdrawn} rows) was withdrawn by run {run_id}",
                 started_at])
            log.warning("withdrew %d unpublished rating rows of the run started at %s",
                        withdrawn, started_at)


def _require_published_weeks(con: Any, start: date, end: date) -> None:
    """The annual tables summarise published weeks (not withdrawn ones: the `_current` view
    leaves them out): say so plainly when there are none."""
    current = f"{WEEKLY_MARTS[0]}_current"
    exists = first_row(con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE schema_name = 'marts' AND view_name = ?",
        [current],
    ))[0]
    weeks = first_row(con.execute(
        f"SELECT count(DISTINCT period_start) FROM marts.{current} "
        "WHERE period_start >= ? AND period_start < ?", [start, end],
    ))[0] if exists else 0
    if not weeks:
        raise ValueError(
            f"no weekly rating of {start.year} is published in this warehouse: run "
            f"`govpulse run weekly` (or a backfill) for its weeks before the annual tables"
        )


def land(run: RunContext) -> dict[str, Any]:
    """Check and load the registry, then land the new inbox files. Annual runs rate published
    weeks: they load the registry (expert scores) and land nothing (nor validate raw rows)."""
    paths = run.paths
    # offset-less inbox timestamps are the territory's local time (CONTRACTS §3): the session
    # zone of the landing connection reads them so
    zone = load_territory(paths.registry).timezone
    with connect(paths.warehouse, timezone=zone) as con:
        registry_rows = load_registry(con, paths.registry, run.run_id)
        if run.kind == "annual":
            log.info("registry: %s", registry_rows)
            return {"rows_loaded": {}, "rows_quarantined": 0, "files_loaded": 0,
                    "files_skipped": 0}
        report = land_inbox(con, paths.inbox, run.run_id)
        con.execute(
            """
            UPDATE ops.runs SET rows_loaded = ?, rows_loaded_total = ?, rows_quarantined = ?,
                   files_loaded = ?, files_skipped = ?
            WHERE run_id = ?
            """,
            [json.dumps(report.rows_loaded), sum(report.rows_loaded.values()),
             report.rows_quarantined, report.files_loaded, report.files_skipped,
             run.run_id],
        )
    log.info("registry: %s", registry_rows)
    log.info(report.summary())
    if report.rows_quarantined:
        log.warning(
            "%d rows quarantined: see ops.quarantine where run_id = '%s'",
            report.rows_quarantined, run.run_id,
        )
    return {
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "files_loaded": report.files_loaded,
        "files_skipped": report.files_skipped,
        "files_deferred": len(report.deferred),
        # records / landed / quarantined of the files that lost rows to quarantine or were
        # quarantined whole (ingestion.landing.LandingReport.file_records), at most 100
        "files": report.file_records()[:100],
        "files_not_accounted": len(report.mismatches),
    }


def validate(run: RunContext, stage: str, expected_platforms: Sequence[str] = ()) -> str:
    """Run the Great Expectations suites of a stage (`raw` or `candidates`) and record them.
    `expected_platforms`: those the run had to fetch (the orchestration knows the tokens)."""
    from govpulse.quality import validation  # GX is heavy: imported only when a run validates

    paths = run.paths
    start = run.period_start
    if stage == "raw":
        # rows landed by an interrupted run before it validated them are audited now: the
        # re-run skips their files as loaded, so its own rows would not include them
        reports = [validation.validate_raw(paths.warehouse, earlier, earlier_start,
                                           rows_only=True)
                   for earlier, earlier_start in _unaudited_runs(paths.warehouse, run)]
        reports.append(validation.validate_raw(paths.warehouse, run.run_id, start,
                                               expected_platforms=expected_platforms))
    else:
        reports = [validation.validate_candidates(
            paths.warehouse, run.run_id, start, kind=run.kind,
            timezone=load_territory(paths.registry).timezone)]
    for report in reports:
        validation.record(paths.warehouse, report)
        # GX results for the Data Docs publish renders; a failed result is kept too (and a
        # store that fails does not stop a run the suites passed: the docs are secondary)
        try:
            from govpulse.publish.data_docs import store_results

            store_results(paths.warehouse, report)
        except Exception:
            log.warning("could not store the GX results of %s for the Data Docs", stage,
                        exc_info=True)
    summary = "; ".join(
        (f"rows of interrupted run {r.run_id}: " if r.run_id != run.run_id else "")
        + r.summary() for r in reports)
    log.info(summary)
    if not all(r.success for r in reports):
        raise ValidationFailed(f"validation of {stage} failed, nothing published: {summary}")
    return summary


def _unaudited_runs(warehouse: Path, run: RunContext) -> list[tuple[str, date]]:
    """Earlier runs of this kind that died or failed after landing files and before validating
    them (no ops.validations row): (run_id, period_start). Their rows are audited once, by the
    next run, without the fetch completeness of a fetch that is over."""
    with connect(warehouse, read_only=True) as con:
        return con.execute(
            """
            SELECT DISTINCT l.run_id, r.period_start FROM ops.loaded_files l
            JOIN ops.runs r ON r.run_id = l.run_id
            WHERE r.kind = ? AND r.status IN ('interrupted', 'failed') AND l.run_id <> ?
              AND NOT EXISTS (SELECT 1 FROM ops.validations v WHERE v.run_id = l.run_id)
            ORDER BY l.run_id
            """, [run.kind, run.run_id]).fetchall()


def dbt_env(run: RunContext) -> dict[str, str]:
    """Environment of the dbt process: the warehouse path, the territory's zone (the session
    TimeZone of dbt's connection, profiles.yml) and the pseudonym key."""
    paths = run.paths
    ensure_pseudonym_key(paths.warehouse)
    # every env var profiles.yml reads is set: dbt's partial parsing re-parses everything when a
    # profile env var falls back to its default (dbt-core #5155)
    return {"GOVPULSE_WAREHOUSE": str(paths.warehouse), MEMORY_LIMIT_ENV: memory_limit(),
            "GOVPULSE_TIMEZONE": load_territory(paths.registry).timezone, "DO_NOT_TRACK": "1"}


def dbt_vars(run: RunContext) -> dict[str, str]:
    """The run's dbt vars: its period, publication instant, id, the territory's zone, in
    which macros/periods.sql places local midnights (not a methodology parameter: the
    methodology var and its version stay as they are), and whether it produces the fakes
    report (macros/reports.sql)."""
    territory = load_territory(run.paths.registry)
    return {
        "period_start": run.period_start.isoformat(),
        "period_kind": UNIT_OF_KIND[run.kind],
        "published_at": run.published_at,
        "run_id": run.run_id,
        "territory_timezone": territory.timezone,
        "fakes_report": "true" if run.kind == "monthly" and fakes_report(run) else "false",
    }


def fakes_report(run: RunContext) -> bool:
    """Whether a monthly run produces the fakes report (METHODOLOGY §8): a territory whose
    territory.yml lists its ratings runs it when `fakes` is listed; one without a list (the
    Kazakh default) only once fakes were ever landed in its warehouse, so its published
    numbers stay as they were until fakes arrive."""
    territory = load_territory(run.paths.registry)
    if territory.ratings is not None:
        return territory.runs("fakes")
    if not run.paths.warehouse.exists():
        return False
    with connect(run.paths.warehouse, read_only=True) as con:
        present = first_row(con.execute(
            "SELECT count(*) FROM duckdb_tables() "
            "WHERE schema_name = 'raw' AND table_name = 'fakes'"))[0]
        return bool(present) and first_row(con.execute(
            "SELECT count(*) FROM (SELECT 1 FROM raw.fakes LIMIT 1)"))[0] > 0


def publish(run: RunContext) -> dict[str, Any]:
    """Publish marts and ops atomically with the run's outcome, then their Parquet, the
    bulletin and the docs. Once the file is renamed into place the run is published: a later
    failure is recorded as a `publish_incomplete` alert and in the run's message, not as a
    failed run."""
    paths = run.paths
    with connect(paths.warehouse) as con:
        revisions = [
            row[0]
            for mart in MARTS[run.kind]
            for row in con.execute(
                f"SELECT max(revision) FROM marts.{mart} "
                "WHERE period_start = ? AND published_at = ?::TIMESTAMPTZ",
                [run.period_start, run.published_at],
            ).fetchall()
            if row[0] is not None
        ]
    revision = max(revisions) if revisions else None
    status = "success" if revision else "unchanged"
    return publish_outcome(run, status, revision,
                           f"published revision {revision}" if revision else "nothing changed")


def publish_outcome(run: RunContext, status: str, revision: int | None,
                    message: str) -> dict[str, Any]:
    """Publish the warehouse with how the run ends (`status`, `revision`, `message`) written
    into the copy before it is renamed into place — the published file and the private
    warehouse agree whatever moment the run is killed at (settle_earlier_runs) — then Parquet,
    the bulletin and the docs. A full disk raises PublishFailed with nothing published
    changed; what fails after the rename is a publish_incomplete alert."""
    from govpulse.publish.warehouse_file import DiskFull
    from govpulse.publish.warehouse_file import publish as publish_file

    paths = run.paths
    with connect(paths.warehouse) as con:
        con.execute("UPDATE ops.runs SET status = 'publishing', message = ? WHERE run_id = ?",
                    [message, run.run_id])
    outcome = [status, datetime.now(UTC), revision, message, run.run_id]
    record = ("UPDATE {}ops.runs SET status = ?, finished_at = ?, revision_published = ?, "
              "message = ? WHERE run_id = ?")
    try:
        def record_outcome(pub: duckdb.DuckDBPyConnection) -> None:
            pub.execute(record.format("pub."), outcome)

        target = publish_file(paths.warehouse, paths.published_file, finish=record_outcome)
    except DiskFull as exc:
        _record_alert(run, PUBLISH_FAILED, str(exc))
        raise PublishFailed(str(exc)) from exc
    log.info("published %s (%s)", target, status)
    problems: list[str] = []
    try:
        with connect(paths.warehouse) as con:
            con.execute(record.format(""), outcome)
    except Exception as exc:  # noqa: BLE001 - the next run settles it from the published file
        problems.append(f"ops.runs not updated: {exc}")
    bulletin, docs = _after_publish(run, target, paths, problems)
    if problems:
        _record_incomplete(run, problems)
    return {"status": status, "revision": revision, "published_file": str(target),
            "bulletin": str(bulletin) if bulletin else None, "docs": docs,
            "problems": problems}


def _after_publish(run: RunContext, target: Path, paths: Paths,
                   problems: list[str]) -> tuple[Path | None, dict[str, str]]:
    """Parquet, bulletin and docs of a publication; what fails is added to `problems`."""
    from govpulse.publish.parquet import export_parquet

    bulletin, docs = None, {}
    try:  # Parquet follows the published file (never precedes it), one folder swapped each
        exported = export_parquet(target)
        log.info("wrote Parquet of %d rating histories under %s", len(exported),
                 target.parent / "parquet")
    except Exception as exc:  # noqa: BLE001 - the publication stands
        problems.append(f"Parquet not written: {exc}")
    try:
        if run.kind in ("weekly", "monthly"):
            bulletin = _write_bulletin(run, target, paths)
    except Exception as exc:  # noqa: BLE001 - the publication stands
        problems.append(f"bulletin not written: {exc}")
    try:
        if run.docs:
            docs = _write_docs(run, paths)
    except Exception as exc:  # noqa: BLE001 - the publication stands
        problems.append(f"docs not written: {exc}")
    return bulletin, docs


PUBLISH_INCOMPLETE = "publish_incomplete"
PUBLISH_FAILED = "publish_failed"  # the copy could not be written (a full disk)
RUN_FAILED = "run_failed"  # a webhook notice only (the run's status says it in ops.runs)


def _record_incomplete(run: RunContext, problems: list[str]) -> None:
    """The file is published but something after it failed: say so in ops (alert + message)."""
    text = "published, but " + "; ".join(problems)
    _record_alert(run, PUBLISH_INCOMPLETE, text)
    notify.send(PUBLISH_INCOMPLETE, text, run.period_start.isoformat(), run.run_id)


def _record_alert(run: RunContext, kind: str, text: str) -> None:
    """An ops.alerts row and a line in the run's message (never raises: the alert is news
    about the run, not a reason to stop it)."""
    log.error("run %s: %s", run.run_id, text)
    try:
        with connect(run.paths.warehouse) as con:
            ensure_schema(con)
            con.execute(
                "INSERT INTO ops.alerts (run_id, kind, period_start, deadline, noticed_at, "
                "message) VALUES (?, ?, ?, NULL, now(), ?)",
                [run.run_id, kind, run.period_start, text[:2000]])
            con.execute("UPDATE ops.runs SET message = concat_ws('; ', message, ?) "
                        "WHERE run_id = ?", [text[:2000], run.run_id])
    except Exception:
        log.exception("could not record the %s alert of run %s in ops", kind, run.run_id)


def _write_docs(run: RunContext, paths: Paths) -> dict[str, str]:
    """dbt docs and the run's Great Expectations Data Docs next to the published data (the data
    are published already: a failure here is logged, not fatal)."""
    from govpulse.publish.data_docs import build_data_docs
    from govpulse.publish.dbt_docs import build_dbt_docs

    docs: dict[str, str] = {}
    try:
        docs["dbt"] = str(build_dbt_docs(paths.warehouse, paths.docs_dir / "dbt"))
    except (RuntimeError, OSError) as exc:
        log.error("dbt docs not generated: %s", exc)
    try:
        docs["gx"] = str(build_data_docs(paths.warehouse, run.run_id, paths.docs_dir / "gx"))
    except (LookupError, RuntimeError, OSError) as exc:
        log.error("Great Expectations Data Docs not generated: %s", exc)
    return docs


def _write_bulletin(run: RunContext, published_file: Path, paths: Paths) -> Path | None:
    """The week's or the month's bulletin from the published file, in the territory's zone and
    languages (rewritten on every run: its freshness block tells when the data was last
    checked)."""
    from govpulse.publish.body_groups import load_group_labels
    from govpulse.publish.bulletin import write_bulletin
    from govpulse.publish.bulletin_monthly import write_monthly_bulletin

    territory = load_territory(paths.registry)
    groups = load_group_labels(paths.registry)  # a bad body_groups.csv is a problem to report
    try:
        if run.kind == "monthly":
            page = write_monthly_bulletin(published_file, run.period_start, paths.bulletin_dir,
                                          territory, groups)
        else:
            page = write_bulletin(published_file, run.period_start, paths.bulletin_dir,
                                  territory)
    except ValueError as exc:  # no unit of any rating of the period: nothing to show
        log.warning("no bulletin: %s", exc)
        return None
    log.info("bulletin: %s", page)
    return page


def fail_run(run: RunContext | None, message: str) -> None:
    """Mark the run failed in ops.runs (the published file is left as it was). A run that has
    published already stays published."""
    if not run:
        return
    with connect(run.paths.warehouse) as con:
        changed = first_row(con.execute(
            "UPDATE ops.runs SET status = 'failed', finished_at = now(), message = ? "
            "WHERE run_id = ? AND status IN ('running', 'publishing')",
            [message[:2000], run.run_id],
        ))[0]
    if changed:  # the first failure of the run (a retry that fails again is not news)
        notify.send(RUN_FAILED, f"{run.kind} {run.period_start}: {message}"[:2000],
                    run.period_start.isoformat(), run.run_id)
