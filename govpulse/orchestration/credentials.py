"""Connector settings for the fetch tasks: where a platform's token comes from.

Precedence: the Airflow connection `govpulse_<platform>` (password = token, host = API base URL)
is the managed secret and wins; the environment (`GOVPULSE_<P>_TOKEN`, `_API_URL`) serves the
CLI and setups without Airflow connections. When both hold a token and they differ, a warning
names the platform and the source used, never the token. The token is handed to the client
directly: it is never copied into the process environment (and so never inherited by dbt or
any other child process).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from govpulse import settings
from govpulse.contract import PLATFORMS
from govpulse.run import notify
from govpulse.run.context import RunContext
from ingestion.connectors.fetch import PAGE_GONE, FetchReport, fetch_platform

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    token: str = field(repr=False)
    api_url: str | None
    source: str  # where the token came from, for messages ("Airflow connection govpulse_vk")


def connection_id(platform: str) -> str:
    return f"govpulse_{platform}"


def env_prefix(platform: str) -> str:
    return f"GOVPULSE_{platform.upper()}_"


def _connection(platform: str) -> Any | None:
    """The Airflow connection of the platform, None when Airflow has none (or is absent)."""
    try:
        from airflow.sdk import Connection

        return Connection.get(connection_id(platform))
    except Exception:  # noqa: BLE001 - not defined, or no Airflow here: use the environment
        return None


def credentials(platform: str, *, warn: bool = True) -> Credentials | None:
    """The platform's token and API URL (see the module docstring), None when not configured."""
    prefix = env_prefix(platform)
    env_token = settings.platform_env(platform, "TOKEN")
    env_url = settings.platform_env(platform, "API_URL") or None
    connection = _connection(platform)
    if connection is not None and connection.password:
        source = f"Airflow connection {connection_id(platform)}"
        if warn and env_token and env_token != connection.password:
            log.warning("%s: %sTOKEN differs from the %s; using the connection", platform,
                        prefix, source)
        return Credentials(connection.password, connection.host or env_url, source)
    if env_token:
        return Credentials(env_token, env_url, f"environment {prefix}TOKEN")
    return None


def configured_platforms() -> list[str]:
    """The platforms that have a token (what a weekly run must fetch)."""
    return [p for p in PLATFORMS if credentials(p, warn=False) is not None]


def configure(platform: str) -> bool:
    """True when the platform has a token; it is also masked in Airflow's task logs."""
    found = credentials(platform)
    if found is None:
        return False
    _mask(found.token)
    log.info("%s: token from the %s", platform, found.source)
    return True


def _mask(token: str) -> None:
    try:
        from airflow.sdk.log import mask_secret

        mask_secret(token)
    except Exception:  # noqa: BLE001 - outside Airflow there is no task log to mask
        pass


def fetch(run: RunContext, platform: str) -> FetchReport:
    found = credentials(platform, warn=False)
    paths = run.paths
    report = fetch_platform(platform, run.period_start, paths.registry,
                            paths.inbox, token=found.token if found else None,
                            api_url=found.api_url if found else None)
    log.info(report.summary())
    _deliver_gone_alerts(run, report)
    return report


def _deliver_gone_alerts(run: RunContext, report: FetchReport) -> None:
    """Post a `page_gone` alert per page the platform reports gone (the fetch task holds no
    warehouse lock: landing records the same alerts in ops.alerts from the fetch report)."""
    for message in report.gone_alerts():
        log.warning("%s: %s", PAGE_GONE, message)
        notify.send(PAGE_GONE, message, run.period_start.isoformat(), run.run_id)
