"""A project-local Airflow: its home, SQLite metadata and settings, prepared before import.

Airflow reads its configuration when first imported, so `configure()` must run before any
`import airflow` in the process (the CLI calls it first thing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from govpulse import settings
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


def ensure_initialized() -> None:
    """Create the metadata database and the warehouse pool once per Airflow home."""
    home = configure()
    marker = home / ".govpulse-initialized"
    if marker.exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    print(f"Preparing Airflow metadata in {home} (first run only)…", flush=True)
    _airflow("db", "migrate")
    _airflow("pools", "set", *POOL)
    marker.write_text("ok\n", encoding="utf-8")
