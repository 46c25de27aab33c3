"""The Telegram (TGStat) connector over real HTTP against the TGStat fixture server: paging
covers the week and stops, rate limits are waited out, a refused token stops at once and is
written nowhere, a deleted channel is skipped, counters come through as sent, and the staging
models map the landed captures.

This module also holds `build_api_staging()`, the one dbt invocation shared by the telegram,
youtube and x connector tests (the session fixture `api_staged` in conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from govpulse.warehouse.schema import connect
from ingestion.connectors import telegram
from ingestion.connectors.base import (
    AUTH,
    FATAL,
    GONE,
    PAGE_REFUSED,
    RATE_LIMITED,
    TRANSIENT,
    AuthError,
    ClientSettings,
    PageUnavailable,
)
from ingestion.connectors.fetch import fetch_platform
from ingestion.connectors.native import Capture, Page, Period, write_capture
from ingestion.landing import land_inbox
from tests.platform_servers import serve
from tests.platform_servers.telegram import (
    TOKEN,
    Channel,
    TGStatServer,
    error,
    flood_control,
    post,
)
from tests.support import DbtResult, fetcher, write_files

PERIOD = Period(date(2026, 11, 13))
START = int(PERIOD.start_at.timestamp())  # 2026-11-12T19:00Z
END = int(PERIOD.end_at.timestamp())
PAGE = Page("p_tg_a", "telegram", "almaty_akimat", "A", "official_region")
GONE_PAGE = Page("p_tg_b", "telegram", "old_akimat", "A", "official_region")
CAPTURED_AT = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def week_channel(in_week: int = 60, before: int = 150) -> Channel:
    """2 posts after the week, `in_week` inside it, `before` older ones; the newest in-week
    post sends its counters as strings, the next one lacks reactions and views."""
    channel = Channel(118, "almaty_akimat", "Акимат Алматы", participants_count=204818)
    for n in range(2):
        channel.posts.append(post(118, "almaty_akimat", 10_000 + n, END + 3600 * (n + 1)))
    step = (END - START) // (in_week + 1)
    for n in range(in_week):
        date_ = END - step * (n + 1)
        if n == 0:
            item = post(118, "almaty_akimat", 5_000 - n, date_, views="15230", shares="40",
                        comments="12", reactions="310")
        elif n == 1:
            item = post(118, "almaty_akimat", 5_000 - n, date_, views=None, reactions=None)
        else:
            item = post(118, "almaty_akimat", 5_000 - n, date_, reactions=n)
        channel.posts.append(item)
    for n in range(before):
        channel.posts.append(post(118, "almaty_akimat", 1_000 - n, START - 600 * (n + 1)))
    return channel


def sample_server() -> TGStatServer:
    server = TGStatServer()
    server.add(week_channel())
    server.add(Channel(119, "old_akimat", "Бывший канал", deleted=True))
    return server


def in_week_ids(server: TGStatServer) -> set[int]:
    return {p["id"] for c in server.channels for p in c.posts if START <= p["date"] < END}


def posts_items(captures: list[Capture]) -> list[dict[str, Any]]:
    return [item for c in captures if c.endpoint == "channels/posts"
            for item in c.response["response"]["items"]]


@pytest.fixture
def server(serve_api: Callable[..., Any]) -> Iterator[TGStatServer]:
    with serve_api("telegram", sample_server(), TOKEN) as fixture:
        yield fixture


fetch = fetcher(telegram, PAGE, PERIOD)


def test_paging_covers_the_week_and_stops_at_older_posts(server: TGStatServer) -> None:
    server.time_filter = False  # a server that ignores startTime/endTime: stop on dates
    captures = fetch()
    assert [c.endpoint for c in captures] == ["channels/get", "channels/posts", "channels/posts"]
    assert in_week_ids(server) <= {item["id"] for item in posts_items(captures)}
    assert min(item["date"] for item in posts_items(captures)) < START  # reached past the week
    paths = [path for path, _, _ in server.requests]
    assert paths == ["/channels/get", "/channels/posts", "/channels/posts"]
    offsets = [q["offset"] for p, q, _ in server.requests if p == "/channels/posts"]
    assert offsets == ["0", "50"]
    for _, query, _ in server.requests:
        assert query["token"] == TOKEN  # the token travels as a query parameter …
    for capture in captures:
        assert "token" not in capture.request  # … and is never recorded
    assert captures[1].request == {"channelId": "@almaty_akimat", "startTime": START,
                                   "endTime": END, "limit": 50, "offset": 0}


def test_short_page_ends_the_week_when_the_server_filters_by_time(server: TGStatServer) -> None:
    captures = fetch()
    assert [len(c.response["response"]["items"]) for c in captures[1:]] == [50, 10]
    assert {item["id"] for item in posts_items(captures)} == in_week_ids(server)


def test_offset_cap_of_1000_slides_the_window_back(server: TGStatServer) -> None:
    server.channels[0] = week_channel(in_week=1100, before=5)
    captures = fetch()
    assert in_week_ids(server) <= {item["id"] for item in posts_items(captures)}
    queries = [q for p, q, _ in server.requests if p == "/channels/posts"]
    assert all(int(q["limit"]) <= 50 and int(q["offset"]) <= 1000 for q in queries)
    assert len({q["endTime"] for q in queries}) == 2  # one slide of the window
    assert len(queries) == 21 + 2


def test_rate_limit_midway_is_waited_out_then_completes(server: TGStatServer) -> None:
    # 1 channels/get, 2 first posts page, 3 second posts page: flood control, then the retry
    server.script[3] = flood_control(10, headers={"Retry-After": "1"})
    began = time.monotonic()
    captures = fetch()
    assert time.monotonic() - began >= 1.0
    assert server.times[3] - server.times[2] >= 1.0  # the wait asked for was honoured
    assert server.requests[2][1] == server.requests[3][1]  # the same page asked again
    assert {item["id"] for item in posts_items(captures)} == in_week_ids(server)
    assert len(captures) == 3  # the refused answer is not captured


def test_flood_control_waits_the_stated_window_and_codes_map_to_outcomes() -> None:
    def verdict(code: str, headers: dict[str, str] | None = None) -> Any:
        response = requests.Response()
        response.status_code = 200
        response.headers.update(headers or {})
        return telegram.error_verdict(code, response)

    assert verdict("flood_control_10").wait_seconds == 10
    assert verdict("flood_control_60").wait_seconds == 60
    assert verdict("flood_control_60", {"Retry-After": "3"}).wait_seconds == 3
    expected = {
        "flood_control_10": RATE_LIMITED, "empty_token": AUTH, "token_invalid": AUTH,
        "no_active_subscription": AUTH, "unknown_error": TRANSIENT,
        "channel_not_found": GONE, "quota_channel_reached": PAGE_REFUSED,
        "quota_requests_reached": FATAL, "wrong_method": FATAL, "wrong_offset": FATAL,
    }
    assert {code: verdict(code).outcome for code in expected} == expected


@pytest.mark.parametrize("reply", [None, error("no_active_subscription")])
def test_refused_token_raises_auth_error_at_once(server: TGStatServer,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 reply: Any) -> None:
    bad = "tgstat-expired-token-9a8b7c"
    if reply is None:
        monkeypatch.setenv("GOVPULSE_TELEGRAM_TOKEN", bad)
    else:
        server.failures.append(reply)
    with pytest.raises(AuthError) as raised:
        fetch()
    assert len(server.requests) == 1  # no retries
    message = str(raised.value)
    assert "telegram" in message and "GOVPULSE_TELEGRAM_TOKEN" in message
    assert bad not in message and TOKEN not in message


def test_refused_token_is_written_nowhere(server: TGStatServer, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bad = "tgstat-expired-token-9a8b7c"
    monkeypatch.setenv("GOVPULSE_TELEGRAM_TOKEN", bad)
    registry, inbox = write_registry(tmp_path / "registry"), tmp_path / "inbox"
    report = fetch_platform("telegram", PERIOD.start, registry, inbox)
    assert report.error and "GOVPULSE_TELEGRAM_TOKEN" in report.error
    assert {p["status"] for p in report.pages.values()} == {"not_fetched"}
    written = [p.read_text(encoding="utf-8") for p in inbox.rglob("*") if p.is_file()]
    assert written and not any(bad in text for text in written)


def test_deleted_channel_raises_page_unavailable(server: TGStatServer) -> None:
    with pytest.raises(PageUnavailable) as raised:
        fetch(GONE_PAGE)
    assert "p_tg_b" in str(raised.value) and "channel_not_found" in str(raised.value)


def test_counters_come_through_as_sent(server: TGStatServer) -> None:
    server.channels[0].participants_count = "204818"  # the Go SDK decodes it as a string
    captures = fetch()
    card = captures[0].response["response"]
    assert card["participants_count"] == "204818" and card["tgstat_restrictions"] == []
    items = {item["link"]: item for item in posts_items(captures)}
    assert items["t.me/almaty_akimat/5000"]["reactions_count"] == "310"
    missing = items["t.me/almaty_akimat/4999"]
    assert "reactions_count" not in missing and "views" not in missing  # not invented as 0
    assert missing["comments_count"] == 2


def write_registry(root: Path) -> Path:
    return write_files(root, {
        "entities.csv": "entity_id,level,name_ru\nA,region,г. Алматы\n",
        "populations.csv": "entity_id,population,population_date\nA,2000000,2023-01-01\n",
        "pages.csv": (
            "page_id,platform,platform_page_id,entity_id,page_kind\n"
            "p_tg_a,telegram,almaty_akimat,A,official_region\n"
            "p_tg_b,telegram,old_akimat,A,official_region\n"
            "p_vk_a,vk,-1,A,official_region\n"
        ),
        "aliases.csv": "entity_id,alias,lang\nA,Алматы,ru\n",
        "excluded_sources.csv": "platform,source_id,reason\ntelegram,kz_promo_posts,paid_public\n",
    })


def test_a_channel_outside_the_tariff_is_not_fetched_not_gone(server: TGStatServer,
                                                               tmp_path: Path) -> None:
    """The channel exists but the tariff does not cover it: it counts against completeness
    (not_fetched), with TGStat's words, and the other channels are still fetched."""
    server.not_found_code = "quota_channel_reached"
    registry, inbox = write_registry(tmp_path / "registry"), tmp_path / "inbox"
    report = fetch_platform("telegram", PERIOD.start, registry, inbox)
    assert report.ok and report.pages["p_tg_a"]["status"] == "fetched"
    assert report.pages["p_tg_b"]["status"] == "not_fetched" and not report.gone_alerts()
    assert "quota_channel_reached" in report.pages["p_tg_b"]["reason"]


def test_fetch_platform_end_to_end(server: TGStatServer, tmp_path: Path) -> None:
    registry, inbox = write_registry(tmp_path / "registry"), tmp_path / "inbox"
    report = fetch_platform("telegram", PERIOD.start, registry, inbox)
    assert report.ok, report.error
    assert report.pages["p_tg_a"]["status"] == "fetched"
    assert report.pages["p_tg_b"]["status"] == "gone"
    # the page_gone alert names the page and says what to do
    alert = report.pages["p_tg_b"]["alert"]
    assert report.gone_alerts() == [alert] and "set active_to for p_tg_b" in alert
    assert "telegram id old_akimat" in alert
    assert "1/2 pages fetched" in report.summary()
    folder = inbox / "api" / "telegram" / "2026-11-13"
    assert all(f.startswith("api/telegram/2026-11-13/") for f in report.files)
    first = {p.name: p.read_bytes() for p in folder.glob("channels*.json")}
    assert len(first) == len(report.files) == 3

    again = fetch_platform("telegram", PERIOD.start, registry, inbox)
    assert again.ok and len(again.files) == 3
    after = {p.name: p.read_bytes() for p in folder.glob("channels*.json")}
    assert len(after) == 6  # new files: captured_at differs
    assert all(after[name] == content for name, content in first.items())  # none overwritten
    written = "".join(p.read_text(encoding="utf-8") for p in inbox.rglob("*.json"))
    assert TOKEN not in written


# ---- staging: one dbt invocation for the telegram, youtube and x models ----------------

API_STAGING_MODELS = [f"stg_{p}__{kind}" for p in ("telegram", "youtube", "x")
                      for kind in ("page_snapshots", "page_posts")]
SNAPSHOT_COLUMNS = [
    ("platform", "VARCHAR"), ("platform_page_id", "VARCHAR"),
    ("captured_at", "TIMESTAMP WITH TIME ZONE"), ("subscribers", "BIGINT"),
    ("bot_share", "DOUBLE"), ("engaged_users_7d", "BIGINT"), ("_load_id", "BIGINT"),
    ("_line", "BIGINT"),
]
POST_COLUMNS = [
    ("platform", "VARCHAR"), ("platform_page_id", "VARCHAR"), ("post_id", "VARCHAR"),
    ("published_at", "TIMESTAMP WITH TIME ZONE"), ("captured_at", "TIMESTAMP WITH TIME ZONE"),
    ("likes", "BIGINT"), ("comments", "BIGINT"), ("reposts", "BIGINT"), ("views", "BIGINT"),
    ("engagement", "BIGINT"), ("_load_id", "BIGINT"), ("_line", "BIGINT"),
]


def write_sample_captures(inbox: Path) -> None:
    """The sample channel fetched through the connector, as capture files in the inbox."""
    with serve(sample_server()) as url:
        client = telegram.Client(ClientSettings(url, TOKEN, backoff_seconds=0.01))
        for n, capture in enumerate(telegram.fetch_page(client, PAGE, PERIOD)):
            write_capture(inbox, "telegram", PERIOD, capture, CAPTURED_AT + timedelta(seconds=n))


def build_api_staging(dbt: Callable[..., DbtResult], root: Path) -> Path:
    """Captures of the three platforms landed into a scratch warehouse under root, then one
    `dbt build` of their staging models (unit tests included); returns the warehouse path."""
    from tests import test_connector_x, test_connector_youtube

    inbox = root / "inbox"
    for write in (write_sample_captures, test_connector_youtube.write_sample_captures,
                  test_connector_x.write_sample_captures):
        write(inbox)
    warehouse = root / "warehouse.duckdb"
    with connect(warehouse) as con:
        landed = land_inbox(con, inbox, "api-staging")
        reasons = [r for (r,) in con.execute("SELECT reason FROM ops.quarantine").fetchall()]
    # only the sample channel's private uploads (no videoPublishedAt) are quarantined
    assert landed.files_loaded > 0 and landed.rows_quarantined == len(reasons) > 0
    assert all(r.startswith("youtube playlistItems.list record ") and "videoPublishedAt" in r
               for r in reasons), reasons
    result = dbt("build", API_STAGING_MODELS, warehouse, root)
    assert result.returncode == 0, result.stdout[-4000:]
    return warehouse


def staged(warehouse: Path, model: str) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """(column names and types, rows as dicts) of one staging model of `api_staged`."""
    with connect(warehouse, read_only=True) as con:
        columns = [(r[0], r[1]) for r in con.execute(f"DESCRIBE staging.{model}").fetchall()]
        cursor = con.execute(f"SELECT * FROM staging.{model} ORDER BY ALL")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return columns, rows


def test_staging_maps_native_json(api_staged: Path) -> None:
    columns, snapshots = staged(api_staged, "stg_telegram__page_snapshots")
    assert columns == SNAPSHOT_COLUMNS
    assert [(s["platform_page_id"], s["captured_at"], s["subscribers"], s["_line"])
            for s in snapshots] == [("almaty_akimat", CAPTURED_AT, 204818, 1)]

    columns, posts = staged(api_staged, "stg_telegram__page_posts")
    assert columns == POST_COLUMNS
    expected = {str(p["id"]): p for p in week_channel().posts if START <= p["date"] < END}
    assert {p["post_id"] for p in posts} == set(expected)
    assert len({(p["_load_id"], p["_line"]) for p in posts}) == len(posts)
    by_link_number = {int(p["post_id"]) % 100_000: p for p in posts}
    strings, missing = by_link_number[5000], by_link_number[4999]
    assert (strings["likes"], strings["comments"], strings["reposts"], strings["views"],
            strings["engagement"]) == (310, 12, 40, 15230, 362)
    assert (missing["likes"], missing["views"], missing["engagement"]) == (None, None, 7)
    for row in posts:
        native = expected[row["post_id"]]
        assert row["published_at"] == datetime.fromtimestamp(native["date"], UTC)
        assert row["platform"] == "telegram" and row["platform_page_id"] == "almaty_akimat"
        assert row["captured_at"] > CAPTURED_AT
