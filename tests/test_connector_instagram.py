"""The Instagram connector over real HTTP against the Graph API fixture server, the fetch
command end to end, and (for both Meta platforms at once) the dbt staging of its captures."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from govpulse.warehouse.schema import connect, ensure_schema
from ingestion.connectors import base
from ingestion.connectors.base import AuthError, ConnectorError, PageUnavailable
from ingestion.connectors.fetch import fetch_platform
from ingestion.connectors.instagram import Client, fetch_page
from ingestion.connectors.native import Capture, Page, Period
from ingestion.landing import land_inbox
from tests.platform_servers import Reply, serve
from tests.platform_servers.facebook import FacebookServer, FbPage, Post
from tests.platform_servers.instagram import Account, InstagramServer, Media
from tests.platform_servers.meta import (
    graph_error,
    throttled,
    transient,
)
from tests.support import write_files

TOKEN = "IGQVJ-secret-token-0123456789"
OWN_ID = "17841400000000001"
PERIOD = Period(date(2026, 11, 13))  # [2026-11-12 19:00Z, 2026-11-19 19:00Z)


def at(days: float) -> datetime:
    return PERIOD.start_at + timedelta(days=days)


def timeline(prefix: str, hidden_likes: set[int] = frozenset()) -> list[Media]:
    """One post after the week, nine in it, six before it (newest first)."""
    days = [7.2] + [6.5 - 0.7 * i for i in range(9)] + [-0.5 - i for i in range(6)]
    return [Media(f"{prefix}{n}", at(d), like_count=None if n in hidden_likes else 10 + n,
                  comments_count=n) for n, d in enumerate(days)]


def week_ids(media: list[Media]) -> set[str]:
    return {m.id for m in media if PERIOD.start_at <= m.timestamp < PERIOD.end_at}


def make_server() -> InstagramServer:
    return InstagramServer([
        Account(OWN_ID, "akimat_example", 1200, timeline("m"), own=True, accounts_engaged=345),
        Account("17841400000000009", "akim_one", 5000, timeline("b", hidden_likes={2})),
    ], token=TOKEN)


def page(platform_page_id: str, page_id: str = "p1") -> Page:
    return Page(page_id, "instagram", platform_page_id, "A", "akim_personal")


@contextmanager
def client_for(server: InstagramServer, monkeypatch: pytest.MonkeyPatch,
               own_id: str | None = OWN_ID) -> Iterator[Client]:
    with serve(server) as url:
        monkeypatch.setenv("GOVPULSE_INSTAGRAM_API_URL", f"{url}/v25.0")
        monkeypatch.setenv("GOVPULSE_INSTAGRAM_TOKEN", TOKEN)
        monkeypatch.setenv("GOVPULSE_HTTP_BACKOFF_SECONDS", "0.01")
        if own_id is None:
            monkeypatch.delenv("GOVPULSE_INSTAGRAM_USER_ID", raising=False)
        else:
            monkeypatch.setenv("GOVPULSE_INSTAGRAM_USER_ID", own_id)
        yield Client.from_env()


def items_of(capture: Capture) -> list[dict]:
    if capture.endpoint == "ig_user/media":
        return capture.response["data"]
    return capture.response["business_discovery"].get("media", {}).get("data", [])


def media_captures(captures: list[Capture]) -> list[Capture]:
    return [c for c in captures if c.endpoint in
            ("ig_user/media", "business_discovery", "business_discovery/media")]


# ---- paging ---------------------------------------------------------------------------------
def test_own_account_pages_back_to_the_week_start_and_stops(monkeypatch):
    server = make_server()
    with client_for(server, monkeypatch) as client:
        captures = list(fetch_page(client, page(OWN_ID), PERIOD))
    assert [c.endpoint for c in captures[:2]] == ["ig_user", "ig_user/insights"]
    assert captures[0].response["followers_count"] == 1200
    assert captures[1].response["data"][0]["total_value"] == {"value": 345}
    media = media_captures(captures)
    fetched = {item["id"] for c in media for item in items_of(c)}
    assert week_ids(server.accounts[OWN_ID].media) <= fetched
    # 16 media, 3 a page: the 4th page reaches before the week, the rest is never asked for
    assert len(media) == 4 and "next" in media[-1].response["paging"]
    assert len(server.requests) == 6
    assert TOKEN not in json.dumps([c.response for c in captures] + [c.request for c in captures])
    assert "access_token" not in json.dumps([c.response for c in captures])


def test_business_discovery_follows_media_cursors_until_older_media(monkeypatch):
    server = make_server()
    with client_for(server, monkeypatch) as client:
        captures = list(fetch_page(client, page("@akim_one"), PERIOD))
    assert [c.endpoint for c in captures] == ["business_discovery"] + [
        "business_discovery/media"] * 3
    first = captures[0].response
    assert first["id"] == OWN_ID and first["business_discovery"]["followers_count"] == 5000
    assert "media.after(" in captures[1].request["fields"]
    assert "followers_count" not in captures[1].request["fields"]
    fetched = {item["id"]: item for c in captures for item in items_of(c)}
    assert week_ids(server.by_username["akim_one"].media) <= set(fetched)
    assert "like_count" not in fetched["b2"]  # hidden likes are missing, not 0
    assert fetched["b3"]["like_count"] == 13
    assert all(path == f"/v25.0/{OWN_ID}" for path, _, _ in server.requests)


def test_business_discovery_stops_on_the_empty_page_after_the_last(monkeypatch):
    recent = [Media(f"r{i}", at(6 - i)) for i in range(4)]
    server = InstagramServer([Account(OWN_ID, "own", 1, own=True),
                              Account("2", "fresh", 10, recent)], token=TOKEN)
    with client_for(server, monkeypatch) as client:
        captures = list(fetch_page(client, page("fresh"), PERIOD))
    # 3 + 1 media, then Graph's trailing `after` cursor leads to an empty page: the end
    assert [len(items_of(c)) for c in captures] == [3, 1, 0]
    assert len(server.requests) == 3


def test_empty_intermediate_media_pages_do_not_end_the_chain(monkeypatch):
    media = timeline("m")
    for removed in media[1:7]:  # two whole pages of removed media
        removed.hidden = True
    server = InstagramServer([Account(OWN_ID, "own", 1, media, own=True)], token=TOKEN)
    with client_for(server, monkeypatch) as client:
        captures = media_captures(list(fetch_page(client, page(OWN_ID), PERIOD)))
    assert [len(items_of(c)) for c in captures][:3] == [1, 0, 2]
    fetched = {item["id"] for c in captures for item in items_of(c)}
    assert {m.id for m in media if not m.hidden} & week_ids(media) <= fetched


def test_own_account_is_found_through_the_tokens_pages(monkeypatch):
    server = make_server()
    with client_for(server, monkeypatch, own_id=None) as client:
        captures = list(fetch_page(client, page("akim_one"), PERIOD))
    assert server.requests[0][0] == "/v25.0/me/accounts"
    assert captures[0].response["id"] == OWN_ID


# ---- errors ---------------------------------------------------------------------------------
def test_rate_limit_mid_way_waits_retry_after_and_completes(monkeypatch):
    server = make_server()
    server.fail_at = {4: throttled(4, retry_after=1, buc_type="instagram", status=403)}
    with client_for(server, monkeypatch) as client:
        started = time.monotonic()
        captures = list(fetch_page(client, page(OWN_ID), PERIOD))
        elapsed = time.monotonic() - started
    assert elapsed >= 1.0
    assert server.requests[3][:2] == server.requests[4][:2]  # the same request, retried
    assert len(media_captures(captures)) == 4


def test_business_use_case_limit_waits_the_minutes_meta_states(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(base, "time", SimpleNamespace(sleep=waits.append, time=time.time))
    server = make_server()
    server.fail_at = {2: throttled(80002, minutes=1, buc_type="instagram")}
    with client_for(server, monkeypatch) as client:
        captures = list(fetch_page(client, page("akim_one"), PERIOD))
    assert waits == [60.0]  # estimated_time_to_regain_access is in minutes
    assert len(captures) == 4


GRAPH_ERRORS = [  # (reply, what the client does with it)
    (throttled(17), "retried"),
    (throttled(32), "retried"),
    (throttled(613), "retried"),
    (transient(), "retried"),
    (graph_error(1, "An unknown error occurred", status=500), "retried"),
    (graph_error(9000, "Temporary", is_transient=True), "retried"),
    (Reply(502, None), "retried"),
    (graph_error(102, "Session key invalid or no longer valid"), AuthError),
    (graph_error(190, "Error validating access token", subcode=460), AuthError),
    (graph_error(100, "Unsupported get request.", subcode=33), PageUnavailable),
    (graph_error(803, "(#803) Some of the aliases you requested do not exist: x"),
     PageUnavailable),
    (graph_error(10, "(#10) Application does not have permission for this action",
                 status=403), ConnectorError),
    (graph_error(100, "(#100) Tried accessing nonexisting field (foo)"), ConnectorError),
]


def test_graph_error_codes_are_classified(monkeypatch):
    server = make_server()
    with client_for(server, monkeypatch) as client:  # one server: each start/stop costs time
        for reply, outcome in GRAPH_ERRORS:
            server.requests.clear()
            server.failures = [reply]
            if outcome == "retried":
                assert client.get_json(OWN_ID, {"fields": "id"}) == {"id": OWN_ID}, reply
                assert len(server.requests) == 2, reply
            else:
                with pytest.raises(outcome) as raised:
                    client.get_json(OWN_ID, {"fields": "id"})
                assert type(raised.value) is outcome and len(server.requests) == 1, reply


def test_expired_token_stops_at_once_without_leaking_it(monkeypatch):
    server = make_server()
    server.token_state = "expired"
    with client_for(server, monkeypatch) as client, pytest.raises(AuthError) as raised:
        list(fetch_page(client, page(OWN_ID), PERIOD))
    message = str(raised.value)
    assert "instagram" in message and "GOVPULSE_INSTAGRAM_TOKEN" in message
    assert "190/463" in message and TOKEN not in message
    assert len(server.requests) == 1


def test_wrong_token_is_an_auth_error(monkeypatch):
    server = make_server()
    server.token = "another-token"
    with client_for(server, monkeypatch) as client, pytest.raises(AuthError) as raised:
        list(fetch_page(client, page("akim_one"), PERIOD))
    assert TOKEN not in str(raised.value)


def test_missing_accounts_are_unavailable(monkeypatch):
    with client_for(make_server(), monkeypatch) as client:
        for account in ("deleted_akim", "17841400000000404", "akim){id"):  # BD, own, bad
            with pytest.raises(PageUnavailable) as raised:
                list(fetch_page(client, page(account, "pGone"), PERIOD))
            assert "pGone" in str(raised.value) and TOKEN not in str(raised.value)


def test_missing_counters_and_empty_insights_come_through_as_missing(monkeypatch):
    bare = [Media("x1", at(3), like_count=None, comments_count=None)]
    server = InstagramServer([Account(OWN_ID, "own", None, bare, own=True)], token=TOKEN)
    with client_for(server, monkeypatch) as client:
        user, insights, media = list(fetch_page(client, page(OWN_ID), PERIOD))
    assert "followers_count" not in user.response
    assert insights.response == {"data": []}
    assert media.response["data"] == [{"id": "x1", "timestamp": "2026-11-15T19:00:00+0000",
                                       "media_type": "IMAGE", "media_product_type": "FEED",
                                       "permalink": "https://www.instagram.com/p/x1/"}]


def test_insights_errors_skip_insights_only(monkeypatch):
    server = make_server()
    server.fail_at = {2: graph_error(10, "(#10) Not enough viewers for the media to show "
                                         "insights", status=400)}
    with client_for(server, monkeypatch) as client:
        captures = list(fetch_page(client, page(OWN_ID), PERIOD))
    assert "ig_user/insights" not in [c.endpoint for c in captures]
    assert len(media_captures(captures)) == 4


# ---- the fetch command ----------------------------------------------------------------------
def registry(root: Path, pages: list[tuple[str, str, str]]) -> Path:
    """A tiny registry (CONTRACTS §2) with pages (page_id, platform, platform_page_id)."""
    rows = "\n".join(f"{pid},{platform},{ref},A,akim_personal,,,," for pid, platform, ref in pages)
    return write_files(root, {
        "entities.csv": "entity_id,level,name_ru\nA,region,Акмолинская область\n",
        "populations.csv": "entity_id,population,population_date\nA,1000000,2023-01-01\n",
        "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind,url,owner_name,"
                     f"active_from,active_to\n{rows}\n",
        "aliases.csv": "entity_id,alias,lang\nA,Акмола,ru\n",
        "excluded_sources.csv": "platform,source_id,reason\n",
    })


def test_fetch_platform_end_to_end(tmp_path, monkeypatch):
    reg = registry(tmp_path / "registry", [("ig1", "instagram", "akim_one"),
                                           ("ig2", "instagram", "deleted_akim")])
    inbox = tmp_path / "inbox"
    with client_for(make_server(), monkeypatch):
        report = fetch_platform("instagram", PERIOD.start, reg, inbox)
        # captures only: fetch.py names its report by the second, so two runs in one second
        # share a report file
        first = {p: p.read_bytes() for p in inbox.rglob("*.json")
                 if not p.name.startswith("_fetch_report-")}
        again = fetch_platform("instagram", PERIOD.start, reg, inbox)
    assert report.ok and report.pages["ig1"]["status"] == "fetched"
    assert report.pages["ig2"]["status"] == "gone"
    # the page_gone alert names the page and says what to do
    alert = report.pages["ig2"]["alert"]
    assert report.gone_alerts() == [alert] and "set active_to for ig2" in alert
    assert "instagram id deleted_akim" in alert
    assert "2207013" in report.pages["ig2"]["reason"]
    folder = inbox / "api" / "instagram" / "2026-11-13"
    assert report.files and all((inbox / f).parent == folder for f in report.files)
    assert len(again.files) == len(report.files) and not set(again.files) & set(report.files)
    for path, content in first.items():  # no capture written before was replaced
        assert path.read_bytes() == content
    for path in inbox.rglob("*"):
        assert path.is_dir() or TOKEN not in path.read_text(encoding="utf-8")


# ---- dbt staging of both Meta platforms -----------------------------------------------------
FB_TOKEN = "EAAB-facebook-secret-token-987"


def facebook_server() -> FacebookServer:
    posts = [Post("111_1", at(6), reactions=273, comments=18, shares=42),
             Post("111_2", at(2), reactions=7, comments=None),
             Post("111_3", at(-3), reactions=1, comments=1, shares=1)]
    return FacebookServer([FbPage("111", "Akimat", 10230, 11874, posts)], token=FB_TOKEN)


def test_staging_maps_native_json(tmp_path, monkeypatch, dbt):
    """Captures written by both Meta connectors, landed as a run lands them, staged by dbt."""
    inbox = tmp_path / "inbox"
    reg = registry(tmp_path / "registry", [("ig_own", "instagram", OWN_ID),
                                           ("ig_bd", "instagram", "akim_one"),
                                           ("fb1", "facebook", "111")])
    with client_for(make_server(), monkeypatch):
        assert fetch_platform("instagram", PERIOD.start, reg, inbox).ok
    with serve(facebook_server()) as url:
        monkeypatch.setenv("GOVPULSE_FACEBOOK_API_URL", f"{url}/v25.0")
        monkeypatch.setenv("GOVPULSE_FACEBOOK_TOKEN", FB_TOKEN)
        assert fetch_platform("facebook", PERIOD.start, reg, inbox).ok
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as con:
        ensure_schema(con)
        land_inbox(con, inbox, "run-1")
    models = ["stg_instagram__page_snapshots", "stg_instagram__page_posts",
              "stg_facebook__page_snapshots", "stg_facebook__page_posts"]
    result = dbt("run", models, warehouse, tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        snapshots = con.execute(
            "SELECT platform, platform_page_id, subscribers, engaged_users_7d, _line "
            "FROM staging.stg_instagram__page_snapshots UNION ALL "
            "SELECT platform, platform_page_id, subscribers, engaged_users_7d, _line "
            "FROM staging.stg_facebook__page_snapshots ORDER BY ALL").fetchall()
        ig_posts = con.execute(
            "SELECT platform_page_id, post_id, published_at, likes, comments, reposts, "
            "engagement FROM staging.stg_instagram__page_posts ORDER BY ALL").fetchall()
        fb_posts = con.execute(
            "SELECT post_id, published_at, likes, comments, reposts, views, engagement "
            "FROM staging.stg_facebook__page_posts ORDER BY ALL").fetchall()
        unique = con.execute(
            "SELECT count(*) = count(DISTINCT (_load_id, _line)) FROM "
            "staging.stg_instagram__page_posts").fetchone()[0]
        types = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'stg_facebook__page_posts' ORDER BY ordinal_position").fetchall()
    assert snapshots == [("facebook", "111", 11874, None, 1),
                         ("instagram", OWN_ID, 1200, 345, 1),
                         ("instagram", "akim_one", 5000, None, 1)]
    own = [row for row in ig_posts if row[0] == OWN_ID]
    assert len(own) == 12 and len({row[1] for row in ig_posts}) == len(ig_posts)  # 4 pages of 3
    hidden = next(row for row in ig_posts if row[1] == "b2")
    assert hidden[3:] == (None, 2, 0, 2)
    assert ("m1", datetime.fromisoformat("2026-11-19T07:00:00+00:00"), 11, 1, 0, 12) in [
        (r[1], r[2].astimezone(UTC), *r[3:]) for r in own]
    assert unique
    assert [(r[0], r[2], r[3], r[4], r[5], r[6]) for r in fb_posts] == [
        ("111_1", 273, 18, 42, None, 333), ("111_2", 7, None, 0, None, 7)]
    assert fb_posts[0][1].astimezone(UTC) == at(6)
    assert types == [
        ("platform", "VARCHAR"), ("platform_page_id", "VARCHAR"), ("post_id", "VARCHAR"),
        ("published_at", "TIMESTAMP WITH TIME ZONE"), ("captured_at", "TIMESTAMP WITH TIME ZONE"),
        ("likes", "BIGINT"), ("comments", "BIGINT"), ("reposts", "BIGINT"), ("views", "BIGINT"),
        ("engagement", "BIGINT"), ("_load_id", "BIGINT"), ("_line", "BIGINT")]
