"""Native capture files and fetch reports written by the connectors land into raw.api_captures
and ops.fetch_pages, once per file, with broken files quarantined."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from govpulse.warehouse.schema import connect
from ingestion.connectors.native import Capture, Page, Period, write_capture
from ingestion.landing import land_inbox

PAGE = Page("p1", "vk", "-42", "E1", "official_region")


def test_captures_and_reports_land_once(tmp_path: Path) -> None:
    inbox, period = tmp_path / "inbox", Period(date(2026, 11, 13))
    response = {"response": {"items": [{"id": 1, "likes": {"count": 3}}], "new_field": "kept"}}
    at = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    first = write_capture(inbox, "vk", period, Capture("wall.get", response, {"count": 100},
                                                       PAGE), at)
    again = write_capture(inbox, "vk", period, Capture("wall.get", response, {"count": 100},
                                                       PAGE), at)
    assert first == again  # same content, same immutable file
    report = inbox / "api" / "vk" / "2026-11-13" / "_fetch_report-20261120T010000.json"
    report.write_text(json.dumps({
        "platform": "vk", "period_start": "2026-11-13", "started_at": at.isoformat(),
        "pages": {"p1": {"status": "fetched", "reason": ""},
                  "p2": {"status": "unavailable", "reason": "vk wall.get: deleted"}},
    }), encoding="utf-8")
    (inbox / "api" / "vk" / "2026-11-13" / "broken.json").write_text("{not json", "utf-8")

    with connect(tmp_path / "w.duckdb") as con:
        landed = land_inbox(con, inbox, "r1")
        captures = con.execute(
            "SELECT platform, endpoint, page_id, platform_page_id, period_start, captured_at, "
            "request ->> 'count', response -> 'response' ->> 'new_field' FROM raw.api_captures"
        ).fetchall()
        pages = con.execute(
            "SELECT page_id, status, reason FROM ops.fetch_pages ORDER BY page_id").fetchall()
        quarantined = con.execute("SELECT file, reason FROM ops.quarantine").fetchall()
        second = land_inbox(con, inbox, "r2")
    assert captures == [("vk", "wall.get", "p1", "-42", date(2026, 11, 13), at, "100", "kept")]
    assert pages == [("p1", "fetched", ""), ("p2", "unavailable", "vk wall.get: deleted")]
    assert quarantined[0][0].endswith("broken.json")
    assert quarantined[0][1].startswith("unreadable capture file")
    assert landed.files_loaded == 3 and second.files_loaded == 0


def test_page_completeness_blocks_a_run_with_too_many_pages_missing(
    tmp_path: Path, monkeypatch
) -> None:
    from govpulse.quality import validation

    inbox = tmp_path / "inbox"
    folder = inbox / "api" / "vk" / "2026-11-13"
    folder.mkdir(parents=True)
    (folder / "_fetch_report-1.json").write_text(json.dumps({
        "platform": "vk", "period_start": "2026-11-13", "started_at": "2026-11-20T01:00:00Z",
        "pages": {"p1": {"status": "fetched", "reason": ""},
                  "p2": {"status": "unavailable", "reason": "deleted"}},
    }), encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as con:
        land_inbox(con, inbox, "r1")
    monkeypatch.setenv("GOVPULSE_MIN_PAGE_COMPLETENESS", "0.9")
    strict = validation.validate_raw(warehouse, "r1", date(2026, 11, 13))
    failure = [r for r in strict.results if r.suite == "fetch_completeness"]
    assert not strict.success and failure and not failure[0].success
    assert "p2" in failure[0].observed_value + (failure[0].details or "")
    monkeypatch.setenv("GOVPULSE_MIN_PAGE_COMPLETENESS", "0.5")
    assert validation.validate_raw(warehouse, "r1", date(2026, 11, 13)).success


def _report(folder: Path, pages: dict[str, dict[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_fetch_report-1.json").write_text(json.dumps({
        "platform": "vk", "period_start": "2026-11-13", "started_at": "2026-11-20T01:00:00Z",
        "pages": pages}), encoding="utf-8")


def test_a_gone_page_is_alerted_and_not_counted_against_completeness(
    tmp_path: Path, monkeypatch
) -> None:
    from govpulse.quality import validation
    from ingestion.connectors.fetch import gone_entry

    gone = gone_entry("vk", Page("p2", "vk", "300000002", "A", "official_region"),
                      'vk groups.getById: community 300000002 is deactivated: "deleted"')
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w.duckdb"
    _report(inbox / "api" / "vk" / "2026-11-13",
            {"p1": {"status": "fetched", "reason": ""}, "p2": gone})
    # a retried fetch reports the page again: one alert per run
    again = {"p1": {"status": "fetched", "reason": ""}, "p2": gone}
    (inbox / "api" / "vk" / "2026-11-13" / "_fetch_report-2.json").write_text(json.dumps({
        "platform": "vk", "period_start": "2026-11-13", "started_at": "2026-11-20T01:05:00Z",
        "pages": again}), encoding="utf-8")
    with connect(warehouse) as con:
        land_inbox(con, inbox, "r1")
        pages = con.execute("SELECT DISTINCT page_id, status, reason FROM ops.fetch_pages "
                            "ORDER BY page_id").fetchall()
        alerts = con.execute("SELECT run_id, kind, period_start, message FROM ops.alerts"
                             ).fetchall()
    assert pages[1] == ("p2", "gone", gone["reason"])
    assert alerts == [("r1", "page_gone", date(2026, 11, 13), gone["alert"])]
    assert "vk page p2 (vk id 300000002) is gone" in gone["alert"]
    assert 'deactivated: "deleted"' in gone["alert"]
    assert "set active_to for p2 in the registry's pages.csv" in gone["alert"]
    monkeypatch.setenv("GOVPULSE_MIN_PAGE_COMPLETENESS", "0.9")
    report = validation.validate_raw(warehouse, "r1", date(2026, 11, 13))
    assert report.success, report.summary()  # 1 of 1 reachable page fetched


def test_a_completeness_failure_says_which_pages_why_and_what_to_change(
    tmp_path: Path, monkeypatch
) -> None:
    from govpulse.quality import validation
    from ingestion.registry import load_registry
    from tests.support import write_files

    inbox, warehouse = tmp_path / "inbox", tmp_path / "w.duckdb"
    registry = write_files(tmp_path / "registry", {
        "entities.csv": "entity_id,level,name_ru\nA,region,Акмолинская область\n",
        "populations.csv": "entity_id,population,population_date\nA,1000000,2023-01-01\n",
        "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind\n"
                     "p1,vk,300000001,A,official_region\np2,vk,300000002,A,official_region\n"
                     "p3,vk,300000003,A,official_region\n",
        "aliases.csv": "entity_id,alias\nA,Акмола\n",
        "excluded_sources.csv": "platform,source_id,reason\n",
    })
    _report(inbox / "api" / "vk" / "2026-11-13", {
        "p1": {"status": "fetched", "reason": ""},
        "p2": {"status": "not_fetched", "reason": "vk wall.get: HTTP 500: still failing after "
                                                  "6 retries"},
        "p3": {"status": "gone", "reason": "deleted", "alert": "vk page p3 is gone"}})
    with connect(warehouse) as con:
        load_registry(con, registry)
        land_inbox(con, inbox, "r1")
    monkeypatch.setenv("GOVPULSE_MIN_PAGE_COMPLETENESS", "0.9")
    report = validation.validate_raw(warehouse, "r1", date(2026, 11, 13))
    [failure] = [r for r in report.failures() if r.suite == "fetch_completeness"]
    observed = failure.observed_value
    assert "vk: 1 of 2 pages not fetched" in observed  # the gone page is not counted
    assert "p2 (vk id 300000002): vk wall.get: HTTP 500" in observed
    assert "GOVPULSE_MIN_PAGE_COMPLETENESS 0.9" in observed
    assert "1 pages reported gone" in observed and "active_to" in observed
    assert "p3 (" not in observed
    # the run's one-line summary (the failed task's message) leads with the same words
    assert "vk: 1 of 2 pages not fetched, completeness 0.50" in report.summary(), report.summary()
