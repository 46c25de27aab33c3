"""Bad records in native captures are quarantined per record at landing, the same way for every
platform: a post without an id or a publication time, or a counter that is not a whole number,
becomes one ops.quarantine row (file = the capture, line = the record's 1-based position, a
reason naming the field and what to fix); the valid records of the capture are untouched."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from govpulse.warehouse.schema import connect
from ingestion.connectors.native import Capture, Page, Period, write_capture
from ingestion.landing import land_inbox

PERIOD = Period(date(2026, 11, 13))
AT = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)

# platform, endpoint, response with records [good, bad...], {line: words its reason must hold}
CASES: list[tuple[str, str, Any, dict[int, tuple[str, ...]]]] = [
    ("vk", "wall.get", {"response": {"count": 3, "items": [
        {"id": 1, "date": 1763000000, "likes": {"count": 3}},
        {"id": 2, "likes": {"count": 1}},
        {"id": 3, "date": 1763000000, "likes": {"count": "many"}}]}},
     {2: ("no publication time (date)",), 3: ("likes.count is not a whole number",)}),
    ("vk", "newsfeed.search", {"response": {"items": [
        {"id": 1, "owner_id": -5, "from_id": 7, "date": 1763000000},
        {"id": 2, "owner_id": -5, "date": 1763000000}]}},
     {2: ("no from_id",)}),
    ("vk", "groups.getById", {"response": {"groups": [{"id": 5, "members_count": "n/a"}]}},
     {1: ("members_count is not a whole number",)}),
    ("ok", "stream.get", {"entities": {"media_topics": [
        {"id": "t1", "created_ms": 1763000000000, "like_summary": {"count": 2}},
        {"created_ms": 1763000000000}]}},
     {2: ("no id",)}),
    ("telegram", "channels/posts", {"status": "ok", "response": {"items": [
        {"id": 10, "date": "1763000000", "views": "120"},
        {"id": 11, "date": "yesterday"}]}},
     {2: ("date is not Unix seconds",)}),
    ("telegram", "channels/get", {"status": "ok", "response": {"participants_count": True}},
     {1: ("participants_count is not a whole number",)}),
    ("youtube", "playlistItems.list", {"items": [
        {"contentDetails": {"videoId": "v1", "videoPublishedAt": "2026-11-15T12:30:00Z"}},
        {"contentDetails": {"videoId": "vPrivate"}}]},
     {2: ("no publication time (contentDetails.videoPublishedAt)",)}),
    ("youtube", "videos.list", {"items": [
        {"id": "v1", "statistics": {"likeCount": "3"}},
        {"id": "v2", "statistics": {"likeCount": {"value": 3}}}]},
     {2: ("statistics.likeCount is not a whole number",)}),
    ("instagram", "ig_user/media", {"data": [
        {"id": "m1", "timestamp": "2026-11-15T12:30:00+0000", "like_count": 4},
        {"id": "m2", "timestamp": "not a time"}]},
     {2: ("timestamp is not an ISO-8601 time",)}),
    ("instagram", "business_discovery", {"business_discovery": {
        "followers_count": "lots", "media": {"data": [
            {"id": "m1", "timestamp": "2026-11-15T12:30:00+0000"}, {"timestamp": None}]}}},
     {1: ("followers_count is not a whole number",), 2: ("no id", "no publication time")}),
    ("facebook", "page/posts", {"data": [
        {"id": "1_2", "created_time": "2026-11-15T12:30:00+0000"},
        "not an object"]},
     {2: ("the record is not a JSON object",)}),
    ("x", "users/:id/tweets", {"data": [
        {"id": "3", "text": "good", "created_at": "2026-11-15T12:30:00.000Z",
         "public_metrics": {"like_count": 2}},
        {"id": "2", "text": "no tweet.fields"}],
        "meta": {"result_count": 2}},
     {2: ("no publication time (created_at)", "tweet.fields=created_at,public_metrics")}),
]


@pytest.mark.parametrize(("platform", "endpoint", "response", "bad"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_a_bad_record_is_quarantined_with_its_position_and_reason(
    tmp_path: Path, platform: str, endpoint: str, response: Any,
    bad: dict[int, tuple[str, ...]],
) -> None:
    inbox = tmp_path / "inbox"
    page = Page("p1", platform, "page-1", "E1", "official_region")
    path = write_capture(inbox, platform, PERIOD, Capture(endpoint, response, {}, page), AT)
    with connect(tmp_path / "w.duckdb") as con:
        report = land_inbox(con, inbox, "r1")
        rows = con.execute("SELECT dataset, file, line, reason, raw_row FROM ops.quarantine "
                           "ORDER BY line").fetchall()
        captures = con.execute("SELECT count(*) FROM raw.api_captures").fetchone()[0]
    assert captures == 1 and report.files_loaded == 1  # the capture itself lands
    assert report.rows_quarantined == len(bad)  # counted in the run's summary
    assert [r[2] for r in rows] == sorted(bad)  # record 1 of each list is valid
    for dataset, file, line, reason, raw_row in rows:
        assert dataset.startswith("api_")
        assert file == path.relative_to(inbox).as_posix()
        assert reason.startswith(f"{platform} {endpoint} record {line} of ")
        assert "Left out of the rating; to fix:" in reason
        assert all(words in reason for words in bad[line]), reason
        assert raw_row is None  # the record's text stays out of ops (private values)
    assert "good" not in " ".join(r[3] for r in rows)


def test_captures_the_connectors_write_pass_the_rules(tmp_path: Path) -> None:
    """Complete records, counters as numbers or numeric strings, missing counters: no entry."""
    inbox = tmp_path / "inbox"
    page = Page("p1", "telegram", "ch", "E1", "official_region")
    write_capture(inbox, "telegram", PERIOD, Capture("channels/posts", {"response": {"items": [
        {"id": 1, "date": 1763000000, "views": 5, "reactions_count": "7"},
        {"id": 2, "date": "1763000001"}]}}, {}, page), AT)
    with connect(tmp_path / "w.duckdb") as con:
        land_inbox(con, inbox, "r1")
        assert con.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0] == 0
