"""`govpulse fetch PLATFORM`: pull the week's snapshots and posts of every registry page on one
platform into the inbox, page by page, and write a report of what could not be fetched."""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from govpulse.contract import PLATFORMS
from govpulse.settings import platform_env
from govpulse.territory import load_territory
from ingestion.connectors.base import (
    ConnectorError,
    PageNotReached,
    PageUnavailable,
    PlatformClient,
    redact,
)
from ingestion.connectors.native import API_FOLDER, Capture, Page, Period, write_capture
from ingestion.registry import load_registry

log = logging.getLogger(__name__)

# platform -> module with `Client` (a PlatformClient) and `fetch_page(client, page, period)`;
# optionally `fetch_mentions(client, aliases, period)`.
CONNECTOR_MODULES = {p: f"ingestion.connectors.{p}" for p in PLATFORMS}

# ops.fetch_pages.status: `gone` pages (the platform says deleted, blocked or not found) do not
# count against fetch completeness; `not_fetched` pages (errors, rate limits, budgets) do.
FETCHED, GONE, NOT_FETCHED = "fetched", "gone", "not_fetched"
PAGE_GONE = "page_gone"  # ops.alerts kind


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
        done = sum(p["status"] == FETCHED for p in self.pages.values())
        missing = [k for k, p in self.pages.items() if p["status"] == NOT_FETCHED]
        gone = [k for k, p in self.pages.items() if p["status"] == GONE]
        text = (f"{self.platform}: {done}/{len(self.pages)} pages fetched, "
                f"{len(self.files)} files, {self.requests} requests")
        if missing:
            text += f"; not fetched: {', '.join(missing[:10])}"
        if gone:
            text += f"; gone (set active_to in pages.csv): {', '.join(gone[:10])}"
        return text + (f"; stopped: {self.error}" if self.error else "")

    def gone_alerts(self) -> list[str]:
        """The `page_gone` alert text of each page the platform reports gone."""
        return [p["alert"] for p in self.pages.values() if p["status"] == GONE and p.get("alert")]


# The pages a fetch asks for: registry pages of the platforms active in the week, of entities
# valid in the week. fetch_completeness counts the pages of a platform that landed no report
# with the same rule (govpulse/quality/validation.py). Parameters: $platforms, $period_start,
# $period_end.
ACTIVE_PAGES_SQL = """
    SELECT p.page_id, p.platform, p.platform_page_id, p.entity_id, p.page_kind
    FROM registry.pages p
    WHERE list_contains($platforms::VARCHAR[], p.platform)
      AND (p.active_from IS NULL OR p.active_from < $period_end::DATE)
      AND (p.active_to IS NULL OR p.active_to >= $period_start::DATE)
      -- an entity has one row per version (renamed mid-week: two): a semi-join
      AND p.entity_id IN (
          SELECT e.entity_id FROM registry.entities e
          WHERE (e.valid_from IS NULL OR e.valid_from < $period_end::DATE)
            AND (e.valid_to IS NULL OR e.valid_to >= $period_start::DATE))
"""


def active_pages_parameters(platforms: Sequence[str], period: Period) -> dict[str, object]:
    return {"platforms": list(platforms), "period_start": period.start, "period_end": period.end}


def registry_pages(registry: Path, platform: str, period: Period) -> list[Page]:
    """Active pages of the platform in the period (the registry is checked as for a run)."""
    with duckdb.connect() as con:
        load_registry(con, registry)
        rows = con.execute(f"{ACTIVE_PAGES_SQL} ORDER BY p.page_id",
                           active_pages_parameters([platform], period)).fetchall()
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


NOT_FINISHED = "the fetch did not finish (see the fetch task's log)"


def gone_entry(platform: str, page: Page, reason: str) -> dict[str, str]:
    """The report entry of a gone page, with the alert that tells the operator what to do."""
    alert = (f"{platform} page {page.page_id} ({platform} id {page.platform_page_id}) is gone: "
             f"{reason}. It is rated without data this week (NULL, ranked last); if it is gone "
             f"for good, set active_to for {page.page_id} in the registry's pages.csv")
    return {"status": GONE, "reason": reason, "platform_page_id": page.platform_page_id,
            "alert": alert}


def fetch_platform(platform: str, period_start: date, registry: Path, inbox: Path, *,
                   token: str | None = None, api_url: str | None = None) -> FetchReport:
    """Fetch every page; a page that is gone is reported and skipped, a refused token stops.

    `token` / `api_url` come from the caller (an Airflow connection); without them the client
    reads GOVPULSE_<PLATFORM>_TOKEN / _API_URL. Every page is first reported `not_fetched`,
    before any request, so a fetch that fails or dies half-way leaves its pages missing in
    ops.fetch_pages (and fetch_completeness fails) instead of leaving no trace at all.
    """
    if platform not in CONNECTOR_MODULES:
        raise ValueError(f"unknown platform {platform!r}: use one of {', '.join(PLATFORMS)}")
    module = importlib.import_module(CONNECTOR_MODULES[platform])
    period = Period(period_start, load_territory(registry).zone)  # its week, in its zone
    report = FetchReport(platform, period.start.isoformat(), datetime.now(UTC).isoformat())
    pages = registry_pages(registry, platform, period)
    report.pages = {p.page_id: {"status": NOT_FETCHED, "reason": NOT_FINISHED,
                                "platform_page_id": p.platform_page_id} for p in pages}
    _write_report(inbox, report)
    client = None
    try:
        client = module.Client.from_env(token=token, api_url=api_url)
        for n, page in enumerate(pages, start=1):
            try:
                for capture in module.fetch_page(client, page, period):
                    _keep(inbox, platform, period, capture, client, report)
                report.pages[page.page_id] = {"status": FETCHED, "reason": "",
                                              "platform_page_id": page.platform_page_id}
            except PageUnavailable as exc:
                report.pages[page.page_id] = gone_entry(platform, page, client.redact(str(exc)))
                log.warning("%s", report.pages[page.page_id]["alert"])
            except PageNotReached as exc:
                report.pages[page.page_id] = {"status": NOT_FETCHED,
                                              "reason": client.redact(str(exc)),
                                              "platform_page_id": page.platform_page_id}
                log.warning("%s", client.redact(str(exc)))
            log.info("[%d/%d] %s %s", n, len(pages), platform, page.page_id)
        if hasattr(module, "fetch_mentions"):  # platforms that can search mentions (VK)
            for capture in module.fetch_mentions(client, region_aliases(registry, period), period):
                _keep(inbox, platform, period, capture, client, report)
    except ConnectorError as exc:  # AuthError, BudgetExhausted, RetriesExhausted, …
        report.error = _redacted(exc, client, token, platform)
        _not_fetched(report, report.error)
    except Exception as exc:
        # a bug or an answer we cannot read: reported (redacted) like any failure, then raised
        report.error = f"unexpected {type(exc).__name__}: {_redacted(exc, client, token, platform)}"
        _not_fetched(report, report.error)
        raise
    finally:
        report.requests = client.requests_made if client else 0
        _write_report(inbox, report)
    return report


def _keep(inbox: Path, platform: str, period: Period, capture: Capture, client: PlatformClient,
          report: FetchReport) -> None:
    """Write one capture, without the client's secrets (some APIs echo them in bodies)."""
    capture.response = client.scrub(capture.response)
    capture.request = client.scrub(capture.request)
    path = write_capture(inbox, platform, period, capture, datetime.now(UTC))
    report.files.append(path.relative_to(inbox).as_posix())


def _redacted(exc: BaseException, client: PlatformClient | None, token: str | None,
              platform: str) -> str:
    """The exception's text without the token (the client's, else the one it was given)."""
    if client is not None:
        return client.redact(str(exc))
    token = token or platform_env(platform, "TOKEN")
    return redact(str(exc), [token, *token.split(":")] if token else [])


def _not_fetched(report: FetchReport, reason: str) -> None:
    for entry in report.pages.values():
        if entry["status"] == NOT_FETCHED:
            entry["reason"] = reason


def _write_report(inbox: Path, report: FetchReport) -> Path:
    """The report lands into ops.fetch_pages with the next run (pages missing, and why)."""
    folder = inbox / API_FOLDER / report.platform / report.period_start
    folder.mkdir(parents=True, exist_ok=True)
    stamp = report.started_at.replace(":", "").replace("-", "").replace("+", "_")
    path = folder / f"_fetch_report-{stamp}.json"
    data: dict[str, Any] = {**report.__dict__}
    tmp = folder / f".{path.name}.tmp"  # landing skips dot files; a reader never sees half
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path
