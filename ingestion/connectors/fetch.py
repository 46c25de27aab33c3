"""`govpulse fetch PLATFORM`: pull the week's snapshots and posts of every registry page on one
platform into the inbox, page by page, and write a report of what could not be fetched."""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from ingestion.connectors.base import (
    AuthError,
    BudgetExhausted,
    ConnectorError,
    PageUnavailable,
    RetriesExhausted,
)
from ingestion.connectors.native import API_FOLDER, Page, Period, write_capture
from ingestion.contract import PLATFORMS
from ingestion.registry import load_registry

log = logging.getLogger(__name__)

# platform -> module with `Client` (a PlatformClient) and `fetch_page(client, page, period)`;
# optionally `fetch_mentions(client, aliases, period)`.
CONNECTOR_MODULES = {p: f"ingestion.connectors.{p}" for p in PLATFORMS}


@dataclass
class FetchReport:
    platform: str
    period_start: str
    started_at: str
    files: list[str] = field(default_factory=list)
    pages: dict[str, dict[str, str]] = field(default_factory=dict)  # page_id -> status, reason
    requests: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        done = sum(p["status"] == "fetched" for p in self.pages.values())
        unavailable = [k for k, p in self.pages.items() if p["status"] != "fetched"]
        text = (f"{self.platform}: {done}/{len(self.pages)} pages fetched, "
                f"{len(self.files)} files, {self.requests} requests")
        if unavailable:
            text += f"; not fetched: {', '.join(unavailable[:10])}"
        return text + (f"; stopped: {self.error}" if self.error else "")


def registry_pages(registry: Path, platform: str, period: Period) -> list[Page]:
    """Active pages of the platform in the period (the registry is checked as for a run)."""
    with duckdb.connect() as con:
        load_registry(con, registry)
        rows = con.execute(
            """
            SELECT p.page_id, p.platform, p.platform_page_id, p.entity_id, p.page_kind
            FROM registry.pages p
            WHERE p.platform = ?
              AND (p.active_from IS NULL OR p.active_from < ?)
              AND (p.active_to IS NULL OR p.active_to >= ?)
              -- an entity has one row per version (renamed mid-week: two): a semi-join
              AND p.entity_id IN (
                  SELECT e.entity_id FROM registry.entities e
                  WHERE (e.valid_from IS NULL OR e.valid_from < ?)
                    AND (e.valid_to IS NULL OR e.valid_to >= ?))
            ORDER BY p.page_id
            """,
            [platform, period.end, period.start, period.end, period.start],
        ).fetchall()
    return [Page(*row) for row in rows]


def region_aliases(registry: Path, period: Period) -> list[tuple[str, str]]:
    """(entity_id, alias) of the regions rated in the period: what mention searches look for."""
    with duckdb.connect() as con:
        load_registry(con, registry)
        return con.execute(
            """
            SELECT a.entity_id, a.alias FROM registry.aliases a
            -- a semi-join: an entity has one row per version (renamed mid-week: two)
            WHERE a.entity_id IN (
                SELECT e.entity_id FROM registry.entities e
                WHERE e.level = 'region'
                  AND (e.valid_from IS NULL OR e.valid_from < ?)
                  AND (e.valid_to IS NULL OR e.valid_to >= ?))
            ORDER BY a.entity_id, a.alias
            """,
            [period.end, period.start],
        ).fetchall()


def fetch_platform(platform: str, period_start: date, registry: Path, inbox: Path) -> FetchReport:
    """Fetch every page; a page that is gone is reported and skipped, a refused token stops."""
    if platform not in CONNECTOR_MODULES:
        raise ValueError(f"unknown platform {platform!r}: use one of {', '.join(PLATFORMS)}")
    module = importlib.import_module(CONNECTOR_MODULES[platform])
    period = Period(period_start)
    report = FetchReport(platform, period.start.isoformat(), datetime.now(UTC).isoformat())
    pages = registry_pages(registry, platform, period)
    client = module.Client.from_env()
    try:
        for n, page in enumerate(pages, start=1):
            try:
                for capture in module.fetch_page(client, page, period):
                    path = write_capture(inbox, platform, period, capture, datetime.now(UTC))
                    report.files.append(path.relative_to(inbox).as_posix())
                report.pages[page.page_id] = {"status": "fetched", "reason": ""}
            except PageUnavailable as exc:
                report.pages[page.page_id] = {"status": "unavailable", "reason": str(exc)}
                log.warning("%s", exc)
            log.info("[%d/%d] %s %s", n, len(pages), platform, page.page_id)
        if hasattr(module, "fetch_mentions"):  # platforms that can search mentions (VK)
            for capture in module.fetch_mentions(client, region_aliases(registry, period), period):
                path = write_capture(inbox, platform, period, capture, datetime.now(UTC))
                report.files.append(path.relative_to(inbox).as_posix())
    except (AuthError, BudgetExhausted, RetriesExhausted, ConnectorError) as exc:
        report.error = client.redact(str(exc))
        for page in pages:
            report.pages.setdefault(page.page_id, {"status": "not_fetched",
                                                   "reason": report.error})
    finally:
        report.requests = client.requests_made
        _write_report(inbox, report)
    return report


def _write_report(inbox: Path, report: FetchReport) -> Path:
    """The report lands into ops.fetch_pages with the next run (pages missing, and why)."""
    folder = inbox / API_FOLDER / report.platform / report.period_start
    folder.mkdir(parents=True, exist_ok=True)
    stamp = report.started_at.replace(":", "").replace("-", "").replace("+", "_")
    path = folder / f"_fetch_report-{stamp}.json"
    data: dict[str, Any] = {**report.__dict__}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
