"""The VK connector over real HTTP against the VK fixture server (tests/platform_servers/vk.py),
and the VK and OK staging models over captures the connectors wrote (one dbt run for both)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from govpulse.warehouse.schema import connect, ensure_schema
from ingestion.connectors import vk
from ingestion.connectors.base import AuthError, ConnectorError, PageUnavailable
from ingestion.connectors.fetch import fetch_platform
from ingestion.connectors.native import Capture, Page, Period, write_capture
from ingestion.native_landing import discover_api_files, land_api_file
from tests.platform_servers import serve
from tests.platform_servers.vk import Community, VkServer, post
from tests.support import DbtResult, fetcher, write_files

PERIOD = Period(date(2026, 11, 13))  # [2026-11-12 19:00Z, 2026-11-19 19:00Z)
START, END = int(PERIOD.start_at.timestamp()), int(PERIOD.end_at.timestamp())
TOKEN = "vk-secret-token-4f1c2a9e"
GROUP, DELETED = 200000001, 200000002
PAGE = Page("p-vk-001", "vk", str(GROUP), "A", "official_region")
HOUR = 3600


def make_server(server: VkServer | None = None) -> VkServer:
    """A wall of a pinned post from 2025 and 250 hourly posts from END + 5 h backwards, so the
    week is posts 6..173: two wall.get pages, the first of which holds an old (pinned) post."""
    if server is None:
        server = VkServer(TOKEN)
    server.reset()
    wall = [post(-GROUP, 1, END - 400 * 86400, likes=50, comments=3, reposts=2, pinned=True)]
    wall += [post(-GROUP, 1000 - i, END + 5 * HOUR - i * HOUR, likes=i % 7,
                  comments=None if i == 10 else 1, reposts=i % 3,
                  views=None if i == 10 else 100 + i) for i in range(250)]
    server.add(Community(GROUP, "akimat_test", members_count=5400, posts=wall))
    server.add(Community(DELETED, "akimat_old", deactivated="deleted"))
    return server


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for a block (for helpers that outlive one test)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[VkServer, str]]:
    """One server thread for the module (stopping one takes half a second)."""
    fixture = VkServer(TOKEN)
    with serve(fixture) as url:
        yield fixture, url


@pytest.fixture
def server(served: tuple[VkServer, str], api_env: Callable[..., None]) -> VkServer:
    fixture, url = served
    make_server(fixture)  # a fresh state for every test
    api_env("vk", url + "/method", TOKEN)
    return fixture


fetch = fetcher(vk, PAGE, PERIOD)


def wall_items(captures: list[Capture]) -> list[dict[str, Any]]:
    return [item for c in captures if c.endpoint == "wall.get"
            for item in c.response["response"]["items"]]


# ---- paging --------------------------------------------------------------------------------
def test_wall_paging_covers_the_week_past_the_pinned_post_and_stops(server: VkServer) -> None:
    captures = fetch()
    assert [c.endpoint for c in captures] == ["groups.getById", "wall.get", "wall.get"]
    assert [q["offset"] for q in server.calls("wall.get")] == ["0", "100"]  # no third page
    week = {p["id"] for p in server.communities[GROUP].posts if START <= p["date"] < END}
    assert len(week) == 168
    assert week <= {p["id"] for p in wall_items(captures)}
    assert captures[0].response["response"]["groups"][0]["members_count"] == 5400
    # requests are recorded as sent, without the token; the token travels in a header only
    assert captures[1].request == {"owner_id": -GROUP, "offset": 0, "count": 100,
                                   "filter": "owner", "v": "5.199"}
    assert all("access_token" not in q for _, q, _ in server.requests)
    assert all(h["Authorization"] == f"Bearer {TOKEN}" for _, _, h in server.requests)


def test_an_empty_wall_takes_one_call(server: VkServer) -> None:
    server.add(Community(GROUP + 5, "quiet"))
    captures = fetch(Page("p-vk-009", "vk", str(GROUP + 5), "A", "other"))
    assert [c.endpoint for c in captures] == ["groups.getById", "wall.get"]


def test_a_screen_name_is_resolved_to_the_community_id(server: VkServer) -> None:
    captures = fetch(Page("p-vk-001", "vk", "akimat_test", "A", "official_region"))
    assert server.calls("wall.get")[0]["owner_id"] == str(-GROUP)
    assert len(captures) == 3


# ---- rate limits and transient errors ------------------------------------------------------
def test_rate_limit_mid_way_waits_what_was_asked_then_completes(server: VkServer) -> None:
    server.at_call[3] = VkServer.error(6, headers={"Retry-After": "1"})  # on the second page
    began = time.monotonic()
    captures = fetch()
    assert time.monotonic() - began >= 1.0
    assert [q["offset"] for q in server.calls("wall.get")] == ["0", "100", "100"]
    assert [c.endpoint for c in captures] == ["groups.getById", "wall.get", "wall.get"]


@pytest.mark.parametrize("code", [6, 9, 1, 10])
def test_flood_and_server_errors_are_retried_with_backoff(server: VkServer, code: int) -> None:
    server.at_call[2] = VkServer.error(code)
    server.at_call[3] = VkServer.error(code)
    captures = fetch()
    assert [q["offset"] for q in server.calls("wall.get")] == ["0", "0", "0", "100"]
    assert len(captures) == 3


def test_a_spent_daily_quota_stops_the_platform_with_a_clear_message(server: VkServer) -> None:
    server.at_call[2] = VkServer.error(29)
    with pytest.raises(ConnectorError, match="daily quota") as info:
        fetch()
    assert not isinstance(info.value, (AuthError, PageUnavailable))
    assert len(server.requests) == 2


def test_a_request_without_version_is_a_fatal_error(server: VkServer) -> None:
    client = vk.Client.from_env()
    with pytest.raises(ConnectorError, match="VK error 8"):
        client.get_json("groups.getById", {"group_ids": str(GROUP)})


# ---- tokens --------------------------------------------------------------------------------
@pytest.mark.parametrize("expired", [True, False])
def test_a_refused_token_raises_auth_error_at_once(server: VkServer,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   expired: bool) -> None:
    token = TOKEN if expired else "vk-wrong-token-77aa"
    if expired:
        server.expired.add(TOKEN)
    monkeypatch.setenv("GOVPULSE_VK_TOKEN", token)
    with pytest.raises(AuthError) as info:
        fetch()
    message = str(info.value)
    assert "vk" in message and "GOVPULSE_VK_TOKEN" in message
    assert token not in message
    assert len(server.requests) == 1


# ---- pages that are gone -------------------------------------------------------------------
@pytest.mark.parametrize("community, page_id, calls", [
    (None, str(DELETED), 1),  # deactivated: "deleted"
    (None, "999999999", 1),  # unknown id: VK answers a deleted stub
    (None, "no_such_screen_name", 1),  # error 100
    (Community(GROUP + 1, "banned", deactivated="banned"), str(GROUP + 1), 1),
    (Community(GROUP + 2, "private", is_closed=2), str(GROUP + 2), 2),  # wall.get error 30
])
def test_a_deleted_private_or_missing_page_raises_page_unavailable(
        server: VkServer, community: Community | None, page_id: str, calls: int) -> None:
    if community is not None:
        server.add(community)
    captures: list[Capture] = []
    with pytest.raises(PageUnavailable, match="p-vk-002"):
        captures.extend(vk.fetch_page(vk.Client.from_env(),
                                      Page("p-vk-002", "vk", page_id, "A", "other"), PERIOD))
    assert len(server.requests) == calls
    assert all(c.endpoint == "groups.getById" for c in captures)


@pytest.mark.parametrize("code", [15, 18, 30, 100])
def test_wall_access_errors_raise_page_unavailable(server: VkServer, code: int) -> None:
    server.at_call[2] = VkServer.error(code)
    with pytest.raises(PageUnavailable, match=f"VK error {code}.*p-vk-001"):
        fetch()


# ---- counters ------------------------------------------------------------------------------
def test_missing_counters_come_through_as_missing(server: VkServer) -> None:
    server.communities[GROUP].members_count = None
    captures = fetch()
    assert "members_count" not in captures[0].response["response"]["groups"][0]
    item = next(p for p in wall_items(captures) if p["id"] == 990)
    assert "views" not in item and "comments" not in item


# ---- mentions ------------------------------------------------------------------------------
def add_search_posts(server: VkServer) -> None:
    server.profiles[777] = {"id": 777, "first_name": "Айгуль", "last_name": "С",
                            "followers_count": 150}
    server.add(Community(12345, "public12345", members_count=98000))
    server.search_posts = [
        post(-12345, 500 + i, START + 3600 * (i + 1), from_id=-12345 if i % 2 else 777,
             text=f"Новости: в Алматы открыли парк №{i}", views=None if i == 0 else 40)
        for i in range(5)
    ] + [post(777, 9, START - 10, from_id=777, text="Алматы, до недели"),
         post(777, 10, START + 50, from_id=777, text="Про Астану")]


def test_mentions_follow_next_from_until_it_is_absent(server: VkServer) -> None:
    add_search_posts(server)
    server.search_page_size = 2
    aliases = [("B", "Алматы"), ("B", " алматы "), ("A", "Акмола")]
    captures = list(vk.fetch_mentions(vk.Client.from_env(), aliases, PERIOD))
    calls = server.calls("newsfeed.search")
    assert [q["q"] for q in calls] == ["Алматы"] * 3 + ["Акмола"]
    assert [q.get("start_from") for q in calls[:3]] == [None, "2/-12345_501", "4/-12345_503"]
    assert calls[0]["start_time"] == str(START) and calls[0]["end_time"] == str(END - 1)
    found = [i["id"] for c in captures[:3] for i in c.response["response"]["items"]]
    assert found == [500, 501, 502, 503, 504]
    assert "next_from" not in captures[2].response["response"]
    assert all(c.page is None and c.endpoint == "newsfeed.search" for c in captures)


# ---- end to end through govpulse fetch -----------------------------------------------------
def write_registry(root: Path, pages: list[tuple[str, str, str]]) -> Path:
    """A one-region registry with (page_id, platform, platform_page_id) pages."""
    lines = "\n".join(f"{pid},{platform},{ppid},A,official_region,,,,"
                      for pid, platform, ppid in pages)
    return write_files(root, {
        "entities.csv": "entity_id,level,name_ru,name_kk,parent_id,body_group,valid_from,"
                        "valid_to\nA,region,Акмолинская область,,,,,\n",
        "populations.csv": "entity_id,population,population_date\nA,1000000,2023-01-01\n",
        "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind,url,owner_name,"
                     f"active_from,active_to\n{lines}\n",
        "aliases.csv": "entity_id,alias,lang\nA,Акмола,ru\n",
        "excluded_sources.csv": "platform,source_id,reason\nvk,public1,paid_public\n",
    })


def snapshot_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def test_fetch_platform_end_to_end(server: VkServer, tmp_path: Path) -> None:
    registry = write_registry(tmp_path / "registry", [("p-vk-001", "vk", str(GROUP)),
                                                      ("p-vk-002", "vk", str(DELETED))])
    inbox = tmp_path / "inbox"
    report = fetch_platform("vk", PERIOD.start, registry, inbox)
    assert report.ok, report.error
    assert report.pages["p-vk-001"]["status"] == "fetched"
    assert report.pages["p-vk-002"]["status"] == "gone"
    # the page_gone alert names the page and says what to do
    alert = report.pages["p-vk-002"]["alert"]
    assert report.gone_alerts() == [alert] and "set active_to for p-vk-002" in alert
    assert report.pages["p-vk-002"]["platform_page_id"] in alert
    assert "deleted" in report.pages["p-vk-002"]["reason"]
    # groups.getById + two wall.get pages for the live page, and the mention search
    assert len(report.files) == 4
    assert any("newsfeed.search" in f for f in report.files)
    folder = inbox / "api" / "vk" / "2026-11-13"
    assert all((inbox / f).parent == folder for f in report.files)
    first = snapshot_of(folder)
    again = fetch_platform("vk", PERIOD.start, registry, inbox)
    assert set(again.files).isdisjoint(report.files)  # captured_at differs: new files
    after = snapshot_of(folder)
    assert all(after[name] == content for name, content in first.items())  # none overwritten
    assert len(after) == len(first) + len(again.files) + 1  # the captures and a report
    assert all(TOKEN.encode() not in content for content in after.values())


def test_a_refused_token_stops_the_fetch_and_is_written_nowhere(
        server: VkServer, tmp_path: Path) -> None:
    server.expired.add(TOKEN)
    registry = write_registry(tmp_path / "registry", [("p-vk-001", "vk", str(GROUP))])
    inbox = tmp_path / "inbox"
    report = fetch_platform("vk", PERIOD.start, registry, inbox)
    assert report.error and "GOVPULSE_VK_TOKEN" in report.error
    assert report.pages["p-vk-001"]["status"] == "not_fetched"
    files = [p for p in inbox.rglob("*") if p.is_file()]
    assert files and all(TOKEN.encode() not in p.read_bytes() for p in files)


def test_cli_fetch_takes_the_airflow_connection_over_the_environment(
    server: VkServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`govpulse fetch` uses the token a fetch task would: the connection govpulse_vk (here
    from AIRFLOW_CONN_GOVPULSE_VK) wins over a stale GOVPULSE_VK_TOKEN, and neither is shown."""
    from govpulse.cli import main

    url = os.environ["GOVPULSE_VK_API_URL"]
    stale = "vk-stale-token-0b7d"
    monkeypatch.setenv("GOVPULSE_VK_TOKEN", stale)
    monkeypatch.setenv("AIRFLOW_CONN_GOVPULSE_VK", json.dumps(
        {"conn_type": "http", "host": url, "password": TOKEN}))
    registry = write_registry(tmp_path / "registry", [("p-vk-001", "vk", str(GROUP))])
    code = main(["fetch", "vk", "--period-start", PERIOD.start.isoformat(),
                 "--registry", str(registry), "--inbox", str(tmp_path / "inbox")])
    out = capsys.readouterr()
    assert code == 0, out
    assert "1/1 pages fetched" in out.out
    # the server answers only TOKEN: the stale environment token would have been refused
    assert server.requests
    assert TOKEN not in out.out + out.err and stale not in out.out + out.err
    monkeypatch.delenv("AIRFLOW_CONN_GOVPULSE_VK")
    monkeypatch.delenv("GOVPULSE_VK_TOKEN")
    assert main(["fetch", "vk", "--period-start", PERIOD.start.isoformat(),
                 "--registry", str(registry), "--inbox", str(tmp_path / "inbox")]) == 1
    assert "define the Airflow connection govpulse_vk" in capsys.readouterr().err


# ---- staging: VK and OK captures through their dbt models, in one dbt run ------------------
STAGING_MODELS = ("stg_vk__page_snapshots", "stg_vk__page_posts", "stg_vk__mentions",
                  "stg_ok__page_snapshots", "stg_ok__page_posts")


def build_vk_ok_staging(dbt: Callable[..., DbtResult],
                        root: Path) -> dict[str, list[dict[str, Any]]]:
    """Fetch from both fixture servers with the real connectors, land the capture files into a
    scratch warehouse under root, build the VK and OK staging models once and return their
    rows (the session fixture `vk_ok_staged` in conftest.py)."""
    from tests.test_connector_ok import make_server as make_ok_server

    inbox = root / "inbox"
    vk_server, ok_server = make_server(), make_ok_server()
    add_search_posts(vk_server)
    registry = write_registry(root / "registry", [
        ("p-vk-001", "vk", str(GROUP)), ("p-ok-001", "ok", "52773632475330")])
    with serve(vk_server) as vk_url, serve(ok_server) as ok_url, environment(
            GOVPULSE_VK_API_URL=vk_url + "/method", GOVPULSE_VK_TOKEN=TOKEN,
            GOVPULSE_OK_API_URL=ok_url, GOVPULSE_OK_TOKEN=ok_server.token,
            GOVPULSE_HTTP_BACKOFF_SECONDS="0.01"):
        for platform in ("vk", "ok"):
            assert fetch_platform(platform, PERIOD.start, registry, inbox).ok
        for capture in vk.fetch_mentions(vk.Client.from_env(), [("A", "Алматы")], PERIOD):
            write_capture(inbox, "vk", PERIOD, capture, PERIOD.end_at)
    warehouse = root / "warehouse.duckdb"
    with connect(warehouse) as con:
        ensure_schema(con)
        for load_id, path in enumerate(discover_api_files(inbox / "api"), start=1):
            land_api_file(con, path, path.relative_to(inbox).as_posix(), load_id, "test")
    result = dbt("build", list(STAGING_MODELS), warehouse, root)
    assert result.returncode == 0, result.stdout[-4000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        rows = {}
        for model in STAGING_MODELS:
            cursor = con.execute(f"SELECT * FROM staging.{model} ORDER BY _load_id, _line")
            names = [d[0] for d in cursor.description]
            rows[model] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return rows


def test_staging_maps_native_json(vk_ok_staged: dict[str, list[dict[str, Any]]]) -> None:
    rows = vk_ok_staged
    [snapshot] = rows["stg_vk__page_snapshots"]
    assert (snapshot["platform_page_id"], snapshot["subscribers"]) == (str(GROUP), 5400)
    assert snapshot["bot_share"] is None and snapshot["_line"] == 1

    posts = rows["stg_vk__page_posts"]
    assert len(posts) == 200  # two wall.get pages of 100 items, the pinned post included
    assert len({(p["_load_id"], p["_line"]) for p in posts}) == 200
    by_id = {p["post_id"]: p for p in posts}
    pinned = by_id["1"]
    assert (pinned["likes"], pinned["comments"], pinned["reposts"], pinned["engagement"]) == \
        (50, 3, 2, 55)
    assert int(pinned["published_at"].timestamp()) == END - 400 * 86400
    sparse = by_id["990"]  # the post without views and comments
    assert sparse["views"] is None and sparse["comments"] is None
    assert sparse["engagement"] == sparse["likes"] + sparse["reposts"]
    assert int(sparse["published_at"].timestamp()) == END + 5 * HOUR - 10 * HOUR
    week = [p for p in posts if START <= p["published_at"].timestamp() < END]
    assert len(week) == 168

    mentions = rows["stg_vk__mentions"]
    assert [m["mention_id"] for m in mentions] == [f"-12345_{500 + i}" for i in range(5)]
    assert {m["sentiment"] for m in mentions} == {"neutral"}
    person, community = mentions[0], mentions[1]
    assert (person["author_type"], person["author_audience"]) == ("person", 150)
    assert (community["author_type"], community["author_audience"]) == ("community", 98000)
    assert community["source_id"] == "12345" and community["entity_id"] is None
    assert person["author_key"] and "777" not in person["author_key"]
    assert mentions[0]["views"] is None and mentions[1]["views"] == 40
