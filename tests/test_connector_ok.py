"""The OK connector over real HTTP against the OK fixture server (tests/platform_servers/ok.py),
which checks every request's signature; the staging check shares one dbt run with VK."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ingestion.connectors import ok
from ingestion.connectors.base import AuthError, ConnectorError, PageUnavailable
from ingestion.connectors.fetch import fetch_platform
from ingestion.connectors.native import Capture, Page
from tests.platform_servers import serve
from tests.platform_servers.ok import Group, OkServer, topic
from tests.support import fetcher
from tests.test_connector_vk import END, PERIOD, START, snapshot_of, write_registry

GID, OTHER = "52773632475330", "52773632475399"
PAGE = Page("p-ok-001", "ok", GID, "A", "official_region")
HOUR_MS = 3_600_000


def make_server(server: OkServer | None = None) -> OkServer:
    """20 topics every 12 h from END + 5 h backwards (topics 1..14 are in the week), plus the
    old original of a reshare among the first page's entities; 3 topics a page."""
    if server is None:
        server = OkServer()
    server.reset()
    topics = [topic(GID, f"1540000000000{i:02d}", (END + 5 * 3600) * 1000 - i * 12 * HOUR_MS + i,
                    likes=i, comments=None if i == 4 else 2, reshares=i % 2,
                    views=None if i == 4 else 500 + i) for i in range(20)]
    original = topic("99", "153000000000001", 1_500_000_000_000, likes=9)
    server.add(Group(GID, members_count=104532, topics=topics[:2] + [original] + topics[2:]))
    server.add(Group(OTHER, deleted=True))
    return server


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[OkServer, str]]:
    """One server thread for the module (stopping one takes half a second)."""
    fixture = OkServer()
    with serve(fixture) as url:
        yield fixture, url


@pytest.fixture
def server(served: tuple[OkServer, str], api_env: Callable[..., None]) -> OkServer:
    fixture, url = served
    make_server(fixture)  # a fresh state for every test
    api_env("ok", url, fixture.token)
    return fixture


fetch = fetcher(ok, PAGE, PERIOD)


def topics_of(captures: list[Capture]) -> list[dict[str, Any]]:
    return [t for c in captures if c.endpoint == "stream.get"
            for t in c.response["entities"]["media_topics"]]


def test_signature_matches_the_documented_test_vector() -> None:
    params = {"application_key": "ABCDEFGHIGKLMNOPK", "format": "json", "method": "events.get"}
    token = "-s-84W-s3egarWUsbkq-IWTucuedzTKT8VUXIA.s4Xx8IW7"
    assert ok.signature(params, token, "ABC123DEF456GHI789JKL123") == \
        "232c8eb921951c4dba9b72606f9ddb4c"


# ---- paging --------------------------------------------------------------------------------
def test_paging_follows_the_anchor_through_empty_pages_and_stops(server: OkServer) -> None:
    server.empty_pages = {2}
    captures = fetch()
    calls = server.calls("stream.get")
    # 7 pages: [0,1,reshared original], empty, [2,3,4] … [14,15,16]; topic 15 is older
    assert len(calls) == 7 and "anchor" not in calls[0]
    assert len({q["anchor"] for q in calls[1:]}) == 6
    assert [c.endpoint for c in captures] == ["group.getInfo"] + ["stream.get"] * 7
    week = {t["id"] for t in server.groups[GID].topics
            if START * 1000 <= t["created_ms"] < END * 1000}
    assert len(week) == 14
    assert week <= {t["id"] for t in topics_of(captures)}
    assert captures[0].response == [{"uid": GID, "name": "Акимат", "members_count": 104532}]


def test_group_info_wrapped_in_groups_is_read_too(server: OkServer) -> None:
    server.wrap_groups = True
    captures = fetch()
    assert captures[0].response == {"groups": [{"uid": GID, "name": "Акимат",
                                                "members_count": 104532}]}
    assert len(captures) == 7


def test_requests_are_signed_and_recorded_without_keys_or_token(server: OkServer) -> None:
    captures = fetch()
    assert captures[1].request == {"method": "stream.get", "gid": GID, "patterns": "POST",
                                   "fields": "feed.*,media_topic.*"}
    _, query, _ = server.requests[0]
    assert query["sig"] == ok.signature(query, query["access_token"], server.secret_key)
    assert query["format"] == "json" and query["application_key"] == server.application_key


# ---- tokens --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["wrong_secret", "expired", "unknown_app"])
def test_a_refused_token_raises_auth_error_at_once(server: OkServer,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   case: str) -> None:
    app, secret, access = server.token.split(":")
    token = {"wrong_secret": f"{app}:WRONGSECRET:{access}",
             "expired": server.token, "unknown_app": f"OTHERAPP:{secret}:{access}"}[case]
    if case == "expired":
        server.expired.add(access)
    monkeypatch.setenv("GOVPULSE_OK_TOKEN", token)
    with pytest.raises(AuthError) as info:
        fetch()
    message = str(info.value)
    expected = {"wrong_secret": "OK error 104", "expired": "OK error 102",
                "unknown_app": "OK error 101"}[case]
    assert expected in message and "GOVPULSE_OK_TOKEN" in message
    assert all(part not in message for part in (token, secret, access, "WRONGSECRET"))
    assert len(server.requests) == 1


def test_a_token_without_its_three_parts_is_refused_before_any_request(
        server: OkServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVPULSE_OK_TOKEN", "just-an-access-token")
    with pytest.raises(AuthError, match="GOVPULSE_OK_TOKEN") as info:
        ok.Client.from_env()
    assert "just-an-access-token" not in str(info.value)
    assert server.requests == []


# ---- rate limits and transient errors ------------------------------------------------------
def test_rate_limit_mid_way_waits_what_was_asked_then_completes(server: OkServer) -> None:
    server.at_call[3] = OkServer.error(8, {"Retry-After": "1"})  # the second stream.get page
    began = time.monotonic()
    captures = fetch()
    assert time.monotonic() - began >= 1.0
    calls = server.calls("stream.get")
    assert calls[1]["anchor"] == calls[2]["anchor"]  # the same page asked again
    assert len(captures) == 7


@pytest.mark.parametrize("code", [8, 11, 1, 2, 9999])
def test_flood_limits_and_service_errors_are_retried(server: OkServer, code: int) -> None:
    server.at_call[1] = OkServer.error(code)
    assert len(fetch()) == 7
    assert [q["method"] for q in server.calls("group.getInfo")] == ["group.getInfo"] * 2


def test_an_unknown_method_is_a_fatal_error(server: OkServer) -> None:
    with pytest.raises(ConnectorError, match="OK error 3"):
        ok.Client.from_env().get_json(ok.PATH, {"method": "group.nothing"})


# ---- pages that are gone -------------------------------------------------------------------
@pytest.mark.parametrize("gid, scripted, calls", [
    (OTHER, None, 1),  # deleted: group.getInfo finds nothing
    ("11111111111111", None, 1),  # unknown
    (GID, 300, 2),  # NOT_FOUND on stream.get
    (GID, 160, 2),  # PARAM_GROUP_ID
    (GID, 455, 2),  # a group restriction
])
def test_a_deleted_or_missing_group_raises_page_unavailable(
        server: OkServer, gid: str, scripted: int | None, calls: int) -> None:
    if scripted is not None:
        server.at_call[2] = OkServer.error(scripted)
    with pytest.raises(PageUnavailable, match="p-ok-002"):
        fetch(Page("p-ok-002", "ok", gid, "A", "other"))
    assert len(server.requests) == calls


# ---- counters ------------------------------------------------------------------------------
def test_missing_counters_come_through_as_missing(server: OkServer) -> None:
    server.groups[GID].members_count = None
    captures = fetch()
    assert "members_count" not in captures[0].response[0]
    sparse = next(t for t in topics_of(captures) if t["id"].endswith("04"))
    assert "discussion_summary" not in sparse and "views_count" not in sparse


# ---- end to end through govpulse fetch -----------------------------------------------------
def test_fetch_platform_end_to_end(server: OkServer, tmp_path: Path) -> None:
    registry = write_registry(tmp_path / "registry", [("p-ok-001", "ok", GID),
                                                      ("p-ok-002", "ok", OTHER)])
    inbox = tmp_path / "inbox"
    report = fetch_platform("ok", PERIOD.start, registry, inbox)
    assert report.ok, report.error
    assert report.pages["p-ok-001"]["status"] == "fetched"
    assert report.pages["p-ok-002"]["status"] == "gone"
    # the page_gone alert names the page and says what to do
    alert = report.pages["p-ok-002"]["alert"]
    assert report.gone_alerts() == [alert] and "set active_to for p-ok-002" in alert
    assert report.pages["p-ok-002"]["platform_page_id"] in alert
    assert len(report.files) == 7
    folder = inbox / "api" / "ok" / "2026-11-13"
    assert all((inbox / f).parent == folder for f in report.files)
    first = snapshot_of(folder)
    again = fetch_platform("ok", PERIOD.start, registry, inbox)
    assert set(again.files).isdisjoint(report.files)
    after = snapshot_of(folder)
    assert all(after[name] == content for name, content in first.items())
    assert len(after) == len(first) + 8
    _, secret, access = server.token.split(":")
    assert all(secret.encode() not in c and access.encode() not in c for c in after.values())


# ---- staging -------------------------------------------------------------------------------
def test_staging_maps_native_json(vk_ok_staged: dict[str, list[dict[str, Any]]]) -> None:
    rows = vk_ok_staged  # one dbt run builds the VK and OK models (tests/test_connector_vk.py)
    [snapshot] = rows["stg_ok__page_snapshots"]
    assert (snapshot["platform_page_id"], snapshot["subscribers"]) == (GID, 104532)
    posts = rows["stg_ok__page_posts"]
    ids = [p["post_id"] for p in posts]
    assert "153000000000001" not in ids  # the reshared original belongs to another group
    assert len(ids) == 17 and len(set(ids)) == 17  # topics 0..16 over six pages
    by_id = {p["post_id"]: p for p in posts}
    first = by_id["154000000000001"]
    expected_ms = (END + 5 * 3600) * 1000 - 12 * HOUR_MS + 1
    assert round(first["published_at"].timestamp() * 1000) == expected_ms  # ms kept
    assert (first["likes"], first["comments"], first["reposts"], first["views"],
            first["engagement"]) == (1, 2, 1, 501, 4)
    sparse = by_id["154000000000004"]
    assert sparse["comments"] is None and sparse["views"] is None
    assert sparse["engagement"] == 4  # likes 4 + reshares 0, missing comments as 0
    week = [p for p in posts if START <= p["published_at"].timestamp() < END]
    assert len(week) == 14
