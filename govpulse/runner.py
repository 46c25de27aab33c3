"""Run a DAG through Airflow itself for one period and report what happened."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from govpulse import airflow_home
from govpulse.config import DAGS_DIR, Paths


@dataclass
class RunOutcome:
    ok: bool
    reason: str = ""
    run: dict[str, Any] = field(default_factory=dict)
    published_file: Path | None = None

    def summary(self) -> str:
        r = self.run
        loaded = json.loads(r.get("rows_loaded") or "{}")
        revision = r.get("revision_published")
        lines = [
            f"week {r.get('period_start')}: {r.get('status')} "
            f"({'revision ' + str(revision) + ' published' if revision else 'no change'})",
            f"  rows loaded: {sum(loaded.values())} "
            f"({', '.join(f'{k} {v}' for k, v in loaded.items() if v) or 'no new files'}); "
            f"quarantined: {r.get('rows_quarantined') or 0}; files skipped as already "
            f"loaded: {r.get('files_skipped') or 0}",
            f"  published: {self.published_file}",
        ]
        return "\n".join(lines)


def _latest_run(warehouse: Path, period_start: date) -> dict[str, Any]:
    if not warehouse.exists():
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(
            "SELECT * FROM ops.runs WHERE kind = 'weekly' AND period_start = ? "
            "ORDER BY started_at DESC LIMIT 1",
            [period_start],
        )
        row = cursor.fetchone()
        if row is None:
            return {}
        return dict(zip([d[0] for d in cursor.description], row, strict=True))


def run_weekly(paths: Paths, period_start: date) -> RunOutcome:
    """Trigger `weekly_ratings` for the week through Airflow and wait for it to finish."""
    airflow_home.configure()
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    bag = DagBag(dag_folder=str(DAGS_DIR / "weekly_ratings.py"))
    if bag.import_errors:
        return RunOutcome(False, f"the DAG file does not import: {bag.import_errors}")
    dag = bag.get_dag("weekly_ratings")
    conf = {"period_start": period_start.isoformat(), **paths.as_strings()}
    conf["publish_dir"] = conf.pop("publish_dir")
    dag_run = dag.test(run_conf=conf)
    run = _latest_run(paths.warehouse, period_start)
    if dag_run.state != DagRunState.SUCCESS:
        reason = run.get("message") or f"DAG run ended {dag_run.state}; see the task logs above"
        return RunOutcome(False, reason, run)
    return RunOutcome(True, run=run, published_file=paths.published_file)
