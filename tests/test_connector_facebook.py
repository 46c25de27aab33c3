"""The Facebook Pages connector over real HTTP against the Graph API fixture server, and the
fetch command end to end. Its dbt staging is checked together with Instagram's, in one dbt
invocation: tests/test_connector_instagram.py::test_staging_maps_native_json."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from ingestion.connectors import base
from ingestion.connectors.base import AuthError, PageUnavailable
from ingestion.connectors.facebook import Client, fetch_page
from ingestion.connectors.fetch import fetch_platform
from ingestion.connectors.native import Capture, Page, Period
from tests.platform_servers import serve
from tests.platform_servers.facebook import FacebookServer, FbPage, Post
from tests.platform_servers.meta import throttled
from tests.support import write_files

TOKEN = "EAAB-facebook-secret-token-0123456789"
PAGE_ID = "294625464562791"
PERIOD = Period(date(2026, 11, 13))  # [2026-11-12 19:00Z, 2026-11-19 19:00Z)


def at(days: float) -> datetime:
    return PERIOD.start_at + timedelta(days=days)


def posts(prefix: str = "") -> list[Post]:
    """Two posts after the week, ten in it (shares only on some), five before it."""
    days = [7.5, 7.1] + [6.8 - 0.7 * i for i in range(10)] + [-0.2 - i for i in range(5)]
    return [Post(f"{PAGE_ID}_{prefix}{n}", at(d), reactions=100 + n, comments=n,
                 shares=n if n % 3 == 0 else 0) for n, d in enumerate(days)]


def week_ids(items: list[Post]) -> set[str]:
    return {p.id for p in items if PERIOD.start_at <= p.created_time < PERIOD.end_at
            and not p.hidden}


def make_server(items: list[Post] | None = None) -> FacebookServer:
    return FacebookServer([
        FbPage(PAGE_ID, "Akimat", 10230, 11874, posts() if items is None else items,
               alias="akimat.example"),
        FbPage("555", "Classic", 77, None),
    ], token=TOKEN)


def page(platform_page_id: str = PAGE_ID, page_id: str = "fb1") -> Page:
    return Page(page_id, "facebook", platform_page_id, "A", "official_region")


@contextmanager
def client_for(server: FacebookServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    with serve(server) as url:
        monkeypatch.setenv("GOVPULSE_FACEBOOK_API_URL", f"{url}/v25.0")
        monkeypatch.setenv("GOVPULSE_FACEBOOK_TOKEN", TOKEN)
        monkeypatch.setenv("GOVPULSE_HTTP_BACKOFF_SECONDS", "0.01")
        yield Client.from_env()


def post_pages(captures: list[Capture]) -> list[list[dict]]:
    return [c.response["data"] for c in captures if c.endpoint == "page/posts"]


# ---- paging ---------------------------------------------------------------------------------
def test_page_and_posts_of_the_week_through_empty_intermediate_pages(monkeypatch):
    items = posts()
    for removed in items[5:8]:  # one whole page of posts filtered out after paging
        removed.hidden = True
    server = make_server(items)
    with client_for(server, monkeypatch) as client:
        captures = list(fetch_page(client, page(), PERIOD))
    assert captures[0].endpoint == "page"
    assert captures[0].response == {"id": PAGE_ID, "name": "Akimat", "fan_count": 10230,
                                    "followers_count": 11874}
    pages = post_pages(captures)
    # since/until keep the 10 posts of the week: 3 a page, the 2nd page empty but with `next`
    assert [len(p) for p in pages] == [3, 0, 3, 1]
    assert "next" in captures[2].response["paging"]
    assert "next" not in captures[-1].response["paging"]
    assert {post["id"] for p in pages for post in p} == week_ids(items)
    first = captures[1].request
    assert first["since"] == int(PERIOD.start_at.timestamp())
    assert first["until"] == int(PERIOD.end_at.timestamp())
    assert all(query.get("since") == str(first["since"]) for _, query, _ in server.requests[1:])
    dumped = json.dumps([c.response for c in captures] + [c.request for c in captures])
    assert TOKEN not in dumped and "access_token" not in dumped


def test_paging_stops_at_older_posts_when_the_edge_ignores_since(monkeypatch):
    server = make_server()
    server.honour_time_filter = False  # like edges that page by cursor only
    with client_for(server, monkeypatch) as client:
        captures = list(fetch_page(client, page(), PERIOD))
    pages = post_pages(captures)
    # 17 posts newest first: the 5th page reaches before the week; later ones are not asked
    assert len(pages) == 5 and "next" in captures[-1].response["paging"]
    assert week_ids(server.pages[PAGE_ID].posts) <= {post["id"] for p in pages for post in p}


def test_shares_omitted_when_zero_and_missing_counters_stay_missing(monkeypatch):
    items = [Post(f"{PAGE_ID}_1", at(1), reactions=5, comments=2, shares=3),
             Post(f"{PAGE_ID}_2", at(2), reactions=None, comments=None, shares=0)]
    server = FacebookServer([FbPage(PAGE_ID, "Akimat", None, None, items)], token=TOKEN)
    with client_for(server, monkeypatch) as client:
        snapshot, posts_page = list(fetch_page(client, page(), PERIOD))
    assert snapshot.response == {"id": PAGE_ID, "name": "Akimat"}
    by_id = {p["id"]: p for p in posts_page.response["data"]}
    assert by_id[f"{PAGE_ID}_1"]["shares"] == {"count": 3}
    assert by_id[f"{PAGE_ID}_1"]["reactions"]["summary"]["total_count"] == 5
    assert set(by_id[f"{PAGE_ID}_2"]) == {"id", "created_time", "permalink_url"}


def test_vanity_name_is_a_page_id_too(monkeypatch):
    server = make_server()
    with client_for(server, monkeypatch) as client:
        captures = list(fetch_page(client, page("akimat.example"), PERIOD))
    assert captures[0].response["id"] == PAGE_ID
    assert server.requests[1][0] == "/v25.0/akimat.example/posts"


# ---- errors ---------------------------------------------------------------------------------
def test_rate_limit_mid_way_waits_retry_after_and_completes(monkeypatch):
    server = make_server()
    server.fail_at = {3: throttled(32, retry_after=1)}
    with client_for(server, monkeypatch) as client:
        started = time.monotonic()
        captures = list(fetch_page(client, page(), PERIOD))
        elapsed = time.monotonic() - started
    assert elapsed >= 1.0
    assert server.requests[2][:2] == server.requests[3][:2]  # the same page, asked again
    assert {p["id"] for d in post_pages(captures) for p in d} == week_ids(server.pages[
        PAGE_ID].posts)


def test_pages_business_use_case_limit_waits_the_minutes_meta_states(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(base, "time", SimpleNamespace(sleep=waits.append, time=time.time))
    server = make_server()
    server.fail_at = {2: throttled(80001, minutes=2, status=403),
                      4: throttled(4, status=403)}  # no stated wait: backoff with jitter
    with client_for(server, monkeypatch) as client:
        captures = list(fetch_page(client, page(), PERIOD))
    assert waits[0] == 120.0 and 0 < waits[1] < 1
    assert len(post_pages(captures)) == 4


def test_expired_token_stops_at_once_without_leaking_it(monkeypatch):
    server = make_server()
    server.token_state = "expired"
    with client_for(server, monkeypatch) as client, pytest.raises(AuthError) as raised:
        list(fetch_page(client, page(), PERIOD))
    message = str(raised.value)
    assert "facebook" in message and "GOVPULSE_FACEBOOK_TOKEN" in message
    assert "190/463" in message and TOKEN not in message
    assert len(server.requests) == 1


def test_missing_pages_are_unavailable(monkeypatch):
    with client_for(make_server(), monkeypatch) as client:
        for ref, code in (("100000000000404", "100/33"), ("no.such.page", "803")):
            with pytest.raises(PageUnavailable) as raised:
                list(fetch_page(client, page(ref, "fbGone"), PERIOD))
            message = str(raised.value)
            assert code in message and "fbGone" in message and TOKEN not in message


# ---- the fetch command ----------------------------------------------------------------------
def registry(root: Path, pages: list[tuple[str, str]]) -> Path:
    """A tiny registry (CONTRACTS §2) with Facebook pages (page_id, platform_page_id)."""
    rows = "\n".join(f"{pid},facebook,{ref},A,official_region,,,," for pid, ref in pages)
    return write_files(root, {
        "entities.csv": "entity_id,level,name_ru\nA,region,Акмолинская область\n",
        "populations.csv": "entity_id,population,population_date\nA,1000000,2023-01-01\n",
        "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind,url,owner_name,"
                     f"active_from,active_to\n{rows}\n",
        "aliases.csv": "entity_id,alias,lang\nA,Акмола,ru\n",
        "excluded_sources.csv": "platform,source_id,reason\n",
    })


def test_fetch_platform_end_to_end(tmp_path, monkeypatch):
    reg = registry(tmp_path / "registry", [("fb1", PAGE_ID), ("fb2", "100000000000404")])
    inbox = tmp_path / "inbox"
    with client_for(make_server(), monkeypatch):
        report = fetch_platform("facebook", PERIOD.start, reg, inbox)
        # captures only: fetch.py names its report by the second, so two runs in one second
        # share a report file
        first = {p: p.read_bytes() for p in inbox.rglob("*.json")
                 if not p.name.startswith("_fetch_report-")}
        again = fetch_platform("facebook", PERIOD.start, reg, inbox)
    assert report.ok and report.pages["fb1"]["status"] == "fetched"
    assert report.pages["fb2"]["status"] == "gone"
    # the page_gone alert names the page and says what to do
    alert = report.pages["fb2"]["alert"]
    assert report.gone_alerts() == [alert] and "set active_to for fb2" in alert
    assert "facebook id 100000000000404" in alert
    assert "100/33" in report.pages["fb2"]["reason"]
    folder = inbox / "api" / "facebook" / "2026-11-13"
    assert report.files and all((inbox / f).parent == folder for f in report.files)
    assert len(again.files) == len(report.files) and not set(again.files) & set(report.files)
    for path, content in first.items():  # no capture written before was replaced
        assert path.read_bytes() == content
    for path in inbox.rglob("*"):
        assert path.is_dir() or TOKEN not in path.read_text(encoding="utf-8")
