"""Connector settings for the fetch tasks: tokens from the environment or Airflow connections."""

from __future__ import annotations

import logging
import os
from datetime import date
from typing import Any

from govpulse.pipeline import paths_of
from ingestion.connectors.fetch import FetchReport, fetch_platform

log = logging.getLogger(__name__)


def configure(platform: str) -> bool:
    """True when the platform has a token: GOVPULSE_<P>_TOKEN, else the Airflow connection
    `govpulse_<platform>` (password = token, host = API base URL), copied into this process's
    environment only."""
    prefix = f"GOVPULSE_{platform.upper()}_"
    if os.environ.get(prefix + "TOKEN"):
        return True
    try:
        from airflow.sdk import Connection

        connection = Connection.get(f"govpulse_{platform}")
    except Exception:  # noqa: BLE001 - no such connection: the platform is not configured
        return False
    if not connection.password:
        return False
    os.environ[prefix + "TOKEN"] = connection.password
    if connection.host:
        os.environ.setdefault(prefix + "API_URL", connection.host)
    return True


def fetch(run: dict[str, Any], platform: str) -> FetchReport:
    paths = paths_of(run)
    report = fetch_platform(platform, date.fromisoformat(run["period_start"]), paths.registry,
                            paths.inbox)
    log.info(report.summary())
    return report
