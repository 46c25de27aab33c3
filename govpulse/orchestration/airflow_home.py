"""A project-local Airflow: its home, SQLite metadata and settings, prepared before import.

Airflow reads its configuration when first imported, so `configure()` must run before any
`import airflow` in the process (the CLI calls it first thing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from govpulse import deployment, settings
from govpulse.settings import DAGS_DIR

DEFAULTS = {
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "AIRFLOW__COSMOS__PROPAGATE_LOGS": "False",
    "DO_NOT_TRACK": "1",
    "SCARF_ANALYTICS": "false",
    "GX_ANALYTICS_ENABLED": "False",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
}
POOL = ("duckdb_warehouse", "1", "one DuckDB writer at a time")
MARKER = ".govpulse-initialized"


def warehouse_pool(territory_id: str | None = None) -> str:
    """The Airflow pool (1 slot) of a warehouse's writer tasks: `duckdb_warehouse` in a
    one-territory deployment, `duckdb_warehouse_<territory_id>` for each territory of
    GOVPULSE_TERRITORIES (each has its own warehouse file, so territories run side by side
    while a territory's weekly and monthly DAGs still take turns)."""
    return f"{POOL[0]}_{territory_id}" if territory_id else POOL[0]


def pools() -> list[tuple[str, str, str]]:
    """Every pool the deployment's DAGs use: (name, slots, description)."""
    territories = deployment.configured()
    if territories is None:
        return [POOL]
    return [(warehouse_pool(t.territory_id), "1",
             f"one DuckDB writer at a time on {t.territory_id}'s warehouse")
            for t in territories]


def airflow_home() -> Path:
    return settings.airflow_home()


def configure() -> Path:
    """Set the environment of a project-local Airflow (explicit settings win); return its home."""
    home = airflow_home()
    os.environ["AIRFLOW_HOME"] = str(home)
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    return home


def _airflow(*args: str) -> None:
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), *args], check=True, stdout=subprocess.DEVNULL)


def pools_json(wanted: list[tuple[str, str, str]] | None = None) -> str:
    """The pools as `airflow pools import` reads them: one command creates (or, for an
    existing pool, resets) them all, however many territories there are."""
    return json.dumps({name: {"slots": int(slots), "description": description}
                       for name, slots, description in (pools() if wanted is None else wanted)},
                      ensure_ascii=False, indent=1)


def ensure_initialized() -> None:
    """Create the metadata database once per Airflow home, and the warehouse pools the
    deployment needs: each pool once, so a territory added to GOVPULSE_TERRITORIES after the
    first run gets its pool on the next command (the marker lists the pools made)."""
    home = configure()
    marker = home / MARKER
    made = set(marker.read_text(encoding="utf-8").split()[1:]) if marker.exists() else set()
    missing = [pool for pool in pools() if pool[0] not in made]
    if marker.exists() and not missing:
        return
    home.mkdir(parents=True, exist_ok=True)
    if not marker.exists():
        print(f"Preparing Airflow metadata in {home} (first run only)…", flush=True)
        _airflow("db", "migrate")
    if missing:
        wanted = home / "govpulse-pools.json"
        wanted.write_text(pools_json(missing) + "\n", encoding="utf-8")
        _airflow("pools", "import", str(wanted))  # idempotent: an existing pool is updated
        made.update(pool[0] for pool in missing)
    marker.write_text("\n".join(["ok", *sorted(made)]) + "\n", encoding="utf-8")


if __name__ == "__main__":
    # `python -m govpulse.orchestration.airflow_home > pools.json; airflow pools import
    # pools.json`: the deployment's pools (docker-compose.yml's airflow-init runs it)
    print(pools_json())
