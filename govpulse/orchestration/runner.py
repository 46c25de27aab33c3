"""Run a DAG through Airflow itself for one period and report what happened."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

import duckdb

from govpulse.deployment import dag_id as dag_id_of
from govpulse.orchestration import airflow_home
from govpulse.periods import UNIT_OF_KIND
from govpulse.run import lock as run_lock
from govpulse.settings import DAGS_DIR, Paths
from govpulse.warehouse.sql import first_row


@dataclass
class RunOutcome:
    ok: bool
    reason: str = ""
    run: dict[str, Any] = field(default_factory=dict)
    published_file: Path | None = None
    validations_passed: int = 0
    validations_failed: int = 0
    alerts: list[str] = field(default_factory=list)  # ops.alerts messages of this run
    # (file, records, landed, quarantined, conservation) of this run's files that did not land
    # every record (ops.loaded_files), and how many such files there are in all
    files: list[tuple] = field(default_factory=list)
    files_total: int = 0
    bulletin_dir: Path | None = None  # the week's bulletin (weekly runs that published)

    def summary(self) -> str:
        r = self.run
        loaded = json.loads(r.get("rows_loaded") or "{}")
        revision = r.get("revision_published")
        period = UNIT_OF_KIND.get(str(r.get("kind")), "")
        lines = [
            f"{period} {r.get('period_start')}: {r.get('status')} "
            f"({'revision ' + str(revision) + ' published' if revision else 'no change'})",
            f"  rows loaded: {sum(loaded.values()):,} "
            f"({', '.join(f'{k} {v:,}' for k, v in loaded.items() if v) or 'no new files'}); "
            f"quarantined: {r.get('rows_quarantined') or 0:,}; files skipped as already "
            f"loaded: {r.get('files_skipped') or 0}",
            f"  validations: {self.validations_passed} passed, {self.validations_failed} failed",
            f"  revision published: {revision or 'none (nothing changed)'}",
            f"  published: {self.published_file or 'nothing (the published file is unchanged)'}",
        ]
        if r.get("kind") in ("weekly", "monthly"):
            lines.append(f"  bulletin: {self.bulletin_dir or 'not produced'}")
        if self.files:
            lines.append("  files that did not land every record (records = landed + "
                         "quarantined):")
            lines += [f"    {file}: {_accounting(records, landed, quarantined, conservation)}"
                      for file, records, landed, quarantined, conservation in self.files]
            if self.files_total > len(self.files):
                lines.append(f"    … and {self.files_total - len(self.files)} more "
                             "(ops.loaded_files)")
        lines += [f"  alert: {message}" for message in self.alerts]
        return "\n".join(lines)


def _accounting(records: int | None, landed: int, quarantined: int,
                conservation: str | None) -> str:
    counted = f"{records:,} records" if records is not None else "records not counted"
    if conservation == "mismatch":
        return (f"{counted}, which the reader did not all account for: quarantined whole "
                "(the raw validation fails)")
    if conservation == "file quarantined":
        return f"{counted}, quarantined whole (one entry says why)"
    return f"{counted} = {landed:,} landed + {quarantined:,} quarantined"


FILES_SHOWN = 10



def _latest_run(warehouse: Path, kind: str, period_start: date) -> dict[str, Any]:
    if not warehouse.exists():
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(
            "SELECT * FROM ops.runs WHERE kind = ? AND period_start = ? "
            "ORDER BY started_at DESC LIMIT 1",
            [kind, period_start],
        )
        row = cursor.fetchone()
        if row is None:
            return {}
        return dict(zip([d[0] for d in cursor.description], row, strict=True))


def _run_files(warehouse: Path, run_id: str | None) -> tuple[list[tuple], int]:
    """The run's files that did not land every record: the first few, and how many."""
    if not run_id or not warehouse.exists():
        return [], 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = {c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'ops' "
            "AND table_name = 'loaded_files'").fetchall()}
        if "conservation" not in columns:
            return [], 0
        rows = con.execute(
            "SELECT file, records, rows_loaded, rows_quarantined, conservation, "
            "count(*) OVER () FROM ops.loaded_files WHERE run_id = ? AND (rows_quarantined > 0 "
            "OR conservation <> 'balanced') ORDER BY conservation IS NOT DISTINCT FROM 'balanced', "
            "file LIMIT ?", [run_id, FILES_SHOWN]).fetchall()
    return [row[:5] for row in rows], rows[0][5] if rows else 0


def _run_checks(warehouse: Path, run_id: str | None) -> tuple[int, int, list[str]]:
    """Validations passed and failed, and the alerts, of one run (from ops)."""
    if not run_id or not warehouse.exists():
        return 0, 0, []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'ops'").fetchall()}
        passed = failed = 0
        if "validations" in tables:
            passed, failed = first_row(con.execute(
                "SELECT count(*) FILTER (success), count(*) FILTER (NOT success) "
                "FROM ops.validations WHERE run_id = ?", [run_id]))
        alerts = [m for (m,) in con.execute(
            "SELECT kind || ': ' || message FROM ops.alerts WHERE run_id = ? "
            "ORDER BY noticed_at", [run_id]).fetchall()] if "alerts" in tables else []
    return passed, failed, alerts


def run_weekly(paths: Paths, period_start: date, docs: bool = True) -> RunOutcome:
    """Trigger `weekly_ratings` for the week through Airflow and wait for it to finish."""
    return run_dag("weekly", paths, period_start, docs=docs)


def run_dag(kind: str, paths: Paths, period_start: date,
            progress: TextIO | None = None, docs: bool = True, wait: bool = True,
            territory_id: str | None = None) -> RunOutcome:
    """Trigger the DAG of a run kind for the period that starts on `period_start` through
    Airflow itself (the code path of a scheduled run) and wait for it to finish. With a
    `progress` stream, a line per task is written to it as the tasks finish; `docs=False`
    leaves the published docs as they are (a backfill writes them at its last period).
    `territory_id` picks that territory's DAG of a deployment with GOVPULSE_TERRITORIES.

    The run holds its warehouse from before it starts until it has finished (govpulse.run.lock):
    another run on the same warehouse waits for it (`wait=True`, saying so on `progress`) or
    is refused with WarehouseBusy."""
    with run_lock.hold(paths.warehouse, kind, period_start.isoformat(), wait=wait,
                       stream=progress):
        return _run_dag(kind, paths, period_start, progress, docs, territory_id)


def _run_dag(kind: str, paths: Paths, period_start: date, progress: TextIO | None,
             docs: bool, territory_id: str | None) -> RunOutcome:
    airflow_home.configure()
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    dag_id = dag_id_of(kind, territory_id)
    bag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id_of(kind)}.py"))
    if bag.import_errors:
        return RunOutcome(False, f"the DAG file does not import: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        return RunOutcome(False, f"no DAG {dag_id}: the territory has no {kind} rating "
                                 "(its territory.yml ratings)")
    # Airflow's Deadline Alert is for scheduled runs (its reference is the run's logical date,
    # which for dag.test is "now"), and dag.test of Airflow 3.3 cannot finish a run of a DAG that
    # has one (DagRun.update_state looks the alerts up by id, dag.test's scheduler DAG holds their
    # definitions). A run here checks the publication deadline itself (govpulse.run.deadlines).
    dag.deadline = None
    conf = {"period_start": period_start.isoformat(), **paths.as_strings(), "docs": docs}
    triggered = datetime.now(UTC)
    if progress is None:
        dag_run = dag.test(run_conf=conf)
    else:
        from govpulse.orchestration.progress import Progress

        with Progress(dag_id, since=triggered, stream=progress):
            dag_run = dag.test(run_conf=conf)
    run = _latest_run(paths.warehouse, kind, period_start)
    if run and run["started_at"] < triggered:
        run = {}  # this run did not get as far as registering itself
    passed, failed, alerts = _run_checks(paths.warehouse, run.get("run_id"))
    files, files_total = _run_files(paths.warehouse, run.get("run_id"))
    checks: dict[str, Any] = {"validations_passed": passed, "validations_failed": failed,
                              "alerts": alerts, "files": files, "files_total": files_total}
    if dag_run.state != DagRunState.SUCCESS:
        reason = run.get("message") or (
            f"DAG run ended {dag_run.state} before the run started (bad period or paths?); "
            "see the task log above" if not run else
            f"DAG run ended {dag_run.state}; see the task logs above")
        return RunOutcome(False, reason, run, **checks)
    bulletin = paths.bulletin_dir / period_start.isoformat() / "index.html"
    return RunOutcome(True, run=run, published_file=paths.published_file,
                      bulletin_dir=bulletin.parent if bulletin.exists() else None, **checks)
