"""The X connector over real HTTP against the X API v2 fixture server: the timeline is paged
over the week (empty pages followed, older posts stop it), a 429 is waited out until
x-rate-limit-reset, a refused token stops at once, missing/suspended/protected accounts are
skipped, counters come through as sent, and staging maps the landed captures."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from ingestion.connectors import x
from ingestion.connectors.base import (
    AUTH,
    GONE,
    RATE_LIMITED,
    AuthError,
    ClientSettings,
    ConnectorError,
    PageUnavailable,
)
from ingestion.connectors.fetch import fetch_platform
from ingestion.connectors.native import Capture, Page, Period, write_capture
from tests.platform_servers import serve
from tests.platform_servers.x import (
    PREFIX,
    TOKEN,
    XPost,
    XServer,
    XUser,
    client_forbidden,
    invalid_request,
    too_many_requests,
)
from tests.support import fetcher, write_files
from tests.test_connector_telegram import POST_COLUMNS, SNAPSHOT_COLUMNS, staged

PERIOD = Period(date(2026, 11, 13))
START, END = PERIOD.start_at, PERIOD.end_at  # 2026-11-12T19:00Z, 2026-11-19T19:00Z
USER_ID = "1500000000000000001"
PAGE = Page("p_x_a", "x", "almaty_akimat", "A", "official_region")
GONE_PAGE = Page("p_x_b", "x", "old_akimat", "A", "official_region")
CAPTURED_AT = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def week_user() -> XUser:
    """2 posts after the week, 150 in it (the newest lacks quote and impression counts, the
    next is a retweet), 60 older."""
    user = XUser(USER_ID, "almaty_akimat", "Акимат Алматы", followers=583423)
    serial = iter(range(1_800_000_000_000_000_000, 1_700_000_000_000_000_000, -1))
    for n in range(2):
        user.posts.append(XPost(str(next(serial)), END + timedelta(hours=2 - n)))
    step = (END - START) / 151
    for n in range(150):
        post = XPost(str(next(serial)), END - step * (n + 1), likes=100 + n, replies=n % 7,
                     retweets=n % 5, quotes=n % 3, impressions=5000 + n)
        if n == 0:
            post.quotes, post.impressions = None, None
        post.retweet = n == 1
        user.posts.append(post)
    for n in range(60):
        user.posts.append(XPost(str(next(serial)), START - timedelta(hours=n + 1)))
    return user


def sample_server() -> XServer:
    server = XServer()
    server.add(week_user())
    server.add(XUser("1500000000000000002", "banned_akimat", "Banned", suspended=True))
    server.add(XUser("1500000000000000003", "closed_akimat", "Closed", protected=True))
    return server


def in_week_ids(server: XServer) -> set[str]:
    return {p.post_id for p in server.users[0].posts
            if START <= p.created_at < END and not p.retweet}


def timeline_items(captures: list[Capture]) -> list[dict[str, Any]]:
    return [item for c in captures if c.endpoint == "users/:id/tweets"
            for item in c.response.get("data", [])]


@pytest.fixture
def server(serve_api: Callable[..., Any]) -> Iterator[XServer]:
    with serve_api("x", sample_server(), TOKEN, PREFIX) as fixture:
        yield fixture


fetch = fetcher(x, PAGE, PERIOD)


def test_timeline_paging_covers_the_week_and_stops_at_older_posts(server: XServer) -> None:
    server.time_filter = False  # a server that ignores start_time/end_time: stop on dates
    captures = fetch()
    assert [c.endpoint for c in captures] == [
        "users/by/username/:username", "users/:id/tweets", "users/:id/tweets"]
    assert "next_token" in captures[2].response["meta"]  # stopped by the dates, not the end
    assert captures[2].request["pagination_token"] == captures[1].response["meta"]["next_token"]
    assert in_week_ids(server) <= {item["id"] for item in timeline_items(captures)}
    assert captures[1].request == {
        "id": USER_ID, "max_results": 100, "tweet.fields": "created_at,public_metrics",
        "exclude": "retweets", "start_time": "2026-11-12T19:00:00Z",
        "end_time": "2026-11-19T19:00:00Z"}
    assert [path for path, _, _ in server.requests] == [
        "/2/users/by/username/almaty_akimat", f"/2/users/{USER_ID}/tweets",
        f"/2/users/{USER_ID}/tweets"]
    for _, _, headers in server.requests:
        assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert all(TOKEN not in str(c.request) for c in captures)


def test_empty_intermediate_page_is_followed(server: XServer) -> None:
    server.empty_pages = {1}
    captures = fetch()
    pages = [c.response for c in captures[1:]]
    assert [p["meta"]["result_count"] for p in pages] == [100, 0, 49]
    assert "data" not in pages[1]
    assert {item["id"] for item in timeline_items(captures)} == in_week_ids(server)


def test_rate_limit_midway_waits_until_the_reset(server: XServer) -> None:
    limited = too_many_requests(reset_in=3)
    reset = int(limited.headers["x-rate-limit-reset"])
    server.script[3] = limited  # the second timeline page
    began = time.monotonic()
    captures = fetch()
    assert time.monotonic() - began >= 1.0
    assert server.times[3] - server.times[2] >= 1.0
    assert time.time() >= reset  # the retry waited until the stated epoch second
    assert server.requests[2][1] == server.requests[3][1]
    assert {item["id"] for item in timeline_items(captures)} == in_week_ids(server)


def test_error_bodies_map_to_outcomes() -> None:
    client = x.Client(ClientSettings("http://unused", "t"))

    def outcome(status: int, body: Any) -> str:
        response = requests.Response()
        response.status_code = status
        return client.classify(response, body).outcome

    assert outcome(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}) \
        == RATE_LIMITED
    assert outcome(403, client_forbidden().body) == AUTH
    assert outcome(200, {"errors": [{"title": "Not Found Error", "type":
                                     "https://api.twitter.com/2/problems/resource-not-found"}]}) \
        == GONE
    assert outcome(200, {"meta": {"result_count": 0}}) == "ok"


def test_invalid_request_stops_with_its_detail(server: XServer) -> None:
    server.failures.append(invalid_request("max_results", "1", "The `max_results` query "
                                           "parameter value [1] is not between 5 and 100"))
    with pytest.raises(ConnectorError, match="max_results"):
        fetch()
    assert len(server.requests) == 1


@pytest.mark.parametrize("forbidden", [False, True])
def test_refused_token_raises_auth_error_at_once(server: XServer,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 forbidden: bool) -> None:
    bad = "AAAAAAAAAAAAAAAAAAAAARevokedBearer%2F99"
    if forbidden:
        server.failures.append(client_forbidden())
    else:
        monkeypatch.setenv("GOVPULSE_X_TOKEN", bad)
    with pytest.raises(AuthError) as raised:
        fetch()
    assert len(server.requests) == 1
    message = str(raised.value)
    assert message.startswith("x ") and "GOVPULSE_X_TOKEN" in message
    assert bad not in message and TOKEN not in message


@pytest.mark.parametrize("username", ["old_akimat", "banned_akimat", "closed_akimat"])
def test_missing_suspended_or_protected_account_is_unavailable(server: XServer,
                                                               username: str) -> None:
    page = Page("p_x_b", "x", username, "A", "official_region")
    with pytest.raises(PageUnavailable) as raised:
        fetch(page)
    assert "p_x_b" in str(raised.value)


def test_counters_come_through_as_sent(server: XServer) -> None:
    server.users[0].followers = None
    captures = fetch()
    assert "followers_count" not in captures[0].response["data"]["public_metrics"]
    newest = next(i for i in timeline_items(captures)
                  if i["id"] == server.users[0].posts[2].post_id)
    assert newest["public_metrics"] == {"retweet_count": 0, "reply_count": 0,
                                        "like_count": 100, "bookmark_count": 0}
    assert server.users[0].posts[3].post_id not in {i["id"] for i in timeline_items(captures)}


def write_registry(root: Path) -> Path:
    return write_files(root, {
        "entities.csv": "entity_id,level,name_ru\nA,region,г. Алматы\n",
        "populations.csv": "entity_id,population,population_date\nA,2000000,2023-01-01\n",
        "pages.csv": (
            "page_id,platform,platform_page_id,entity_id,page_kind\n"
            "p_x_a,x,almaty_akimat,A,official_region\n"
            "p_x_b,x,old_akimat,A,official_region\n"
        ),
        "aliases.csv": "entity_id,alias,lang\nA,Алматы,ru\n",
        "excluded_sources.csv": "platform,source_id,reason\nx,kz_promo_bot,paid_public\n",
    })


def test_fetch_platform_end_to_end(server: XServer, tmp_path: Path) -> None:
    registry, inbox = write_registry(tmp_path / "registry"), tmp_path / "inbox"
    report = fetch_platform("x", PERIOD.start, registry, inbox)
    assert report.ok, report.error
    assert {k: v["status"] for k, v in report.pages.items()} == {
        "p_x_a": "fetched", "p_x_b": "gone"}
    # the page_gone alert names the page and says what to do
    alert = report.pages["p_x_b"]["alert"]
    assert report.gone_alerts() == [alert] and "set active_to for p_x_b" in alert
    assert "x id old_akimat" in alert
    assert "resource-not-found" not in report.pages["p_x_b"]["reason"]
    assert "Could not find user" in report.pages["p_x_b"]["reason"]
    folder = inbox / "api" / "x" / "2026-11-13"
    assert len(report.files) == 3 and all(f.startswith("api/x/2026-11-13/")
                                          for f in report.files)
    first = {p.name: p.read_bytes() for p in folder.glob("users*.json")}
    again = fetch_platform("x", PERIOD.start, registry, inbox)
    assert again.ok and len(again.files) == 3
    after = {p.name: p.read_bytes() for p in folder.glob("users*.json")}
    assert len(first) == 3 and len(after) == 6  # captured_at differs: new files
    assert all(after[name] == content for name, content in first.items())
    assert TOKEN not in "".join(p.read_text(encoding="utf-8") for p in inbox.rglob("*.json"))


def write_sample_captures(inbox: Path) -> None:
    """The sample account fetched through the connector, as capture files in the inbox."""
    with serve(sample_server()) as url:
        base_url = (url + PREFIX).rstrip("/")
        client = x.Client(ClientSettings(base_url, TOKEN, backoff_seconds=0.01))
        for n, capture in enumerate(x.fetch_page(client, PAGE, PERIOD)):
            write_capture(inbox, "x", PERIOD, capture, CAPTURED_AT + timedelta(seconds=n))


def test_staging_maps_native_json(api_staged: Path) -> None:
    columns, snapshots = staged(api_staged, "stg_x__page_snapshots")
    assert columns == SNAPSHOT_COLUMNS
    assert [(s["platform_page_id"], s["captured_at"], s["subscribers"]) for s in snapshots] == [
        ("almaty_akimat", CAPTURED_AT, 583423)]

    columns, posts = staged(api_staged, "stg_x__page_posts")
    assert columns == POST_COLUMNS
    user = week_user()
    expected = {p.post_id: p for p in user.posts if START <= p.created_at < END and not p.retweet}
    assert {p["post_id"] for p in posts} == set(expected)
    assert len({(p["_load_id"], p["_line"]) for p in posts}) == len(posts)
    for row in posts:
        native = expected[row["post_id"]]
        assert row["published_at"] == native.created_at.replace(microsecond=0)
        reposts = None if native.retweets is None and native.quotes is None else (
            (native.retweets or 0) + (native.quotes or 0))
        assert (row["likes"], row["comments"], row["reposts"], row["views"]) == (
            native.likes, native.replies, reposts, native.impressions)
        assert row["engagement"] == native.likes + native.replies + (reposts or 0)
    newest = next(r for r in posts if r["post_id"] == user.posts[2].post_id)
    assert (newest["reposts"], newest["views"], newest["engagement"]) == (0, None, 100)
