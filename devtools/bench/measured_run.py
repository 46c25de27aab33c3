"""One weekly DAG run through Airflow, metered per phase (run in its own process by the bench).

    python -m devtools.bench.measured_run --period-start 2026-11-13 --out usage.json

Paths come from the GOVPULSE_* environment, as for `govpulse run`. The JSON holds the run's
outcome, the whole process's usage (Python and Airflow start-up included) and each phase's: the
DAG's tasks grouped as below, timed by Airflow's own task start and end dates.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from devtools.bench.meter import Meter, Usage

# phase -> the weekly DAG's tasks (govpulse/orchestration/dags.py)
PHASES: dict[str, tuple[str, ...]] = {
    "landing": ("land",),
    "raw validation": ("validate_raw",),
    "dbt build": ("dbt_transform", "dbt_marts"),
    "mart validation": ("validate_candidates",),
    "publish": ("publish",),
}


def task_windows(dag_id: str) -> dict[str, tuple[float, float]]:
    """task_id -> (start, end) as time.time() of the latest run of the DAG (first map index)."""
    from airflow.utils.session import create_session

    from govpulse.orchestration.progress import latest_task_instances

    with create_session() as session:
        tis = latest_task_instances(session, dag_id)
    windows: dict[str, tuple[float, float]] = {}
    for ti in tis:
        if ti.start_date and ti.end_date:
            start, end = ti.start_date.timestamp(), ti.end_date.timestamp()
            old = windows.get(ti.task_id)
            windows[ti.task_id] = (min(start, old[0]), max(end, old[1])) if old else (start, end)
    return windows


def phase_usage(meter: Meter, windows: dict[str, tuple[float, float]]) -> dict[str, Usage]:
    """Each phase's tasks added up: wall and CPU summed, peak the largest."""
    phases: dict[str, Usage] = {}
    for phase, task_ids in PHASES.items():
        parts = [meter.window(*windows[t]) for t in task_ids if t in windows]
        if parts:
            phases[phase] = Usage(sum(p.wall_s for p in parts), sum(p.cpu_s for p in parts),
                                  max(p.peak_rss_bytes for p in parts))
    return phases


def measured_weekly_run(period_start: date) -> dict[str, Any]:
    started = time.time()
    with Meter() as meter:
        from govpulse.deployment import DAG_IDS
        from govpulse.orchestration.runner import run_dag
        from govpulse.settings import Paths

        outcome = run_dag("weekly", Paths.resolve(), period_start)
        windows = task_windows(DAG_IDS["weekly"])
    total = meter.total()
    return {
        "ok": outcome.ok,
        "reason": outcome.reason,
        "revision": (outcome.run or {}).get("revision_published"),
        "rows_loaded": (outcome.run or {}).get("rows_loaded_total"),
        "rows_quarantined": (outcome.run or {}).get("rows_quarantined"),
        "published_file": str(outcome.published_file) if outcome.published_file else None,
        "started_at": started,
        "total": total.as_dict(),
        "phases": {name: usage.as_dict() for name, usage in phase_usage(meter, windows).items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--period-start", required=True, type=date.fromisoformat)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    result = measured_weekly_run(args.period_start)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
