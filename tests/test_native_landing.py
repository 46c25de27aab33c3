"""Native capture files and fetch reports written by the connectors land into raw.api_captures
and ops.fetch_pages, once per file, with broken files quarantined."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from ingestion.connectors.native import Capture, Page, Period, write_capture
from ingestion.landing import land_inbox
from ingestion.warehouse import connect

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
) -> None:  # noqa: ANN001
    from govpulse import validation

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
