"""The YouTube connector over real HTTP against the Data API v3 fixture server: the uploads
playlist is paged back past the week with each page's statistics fetched, rate limits are
waited out, a spent quota or a refused key stops at once, a deleted channel is skipped,
string and missing statistics come through as sent, and staging maps the landed captures."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingestion.connectors import youtube
from ingestion.connectors.base import AuthError, ClientSettings, ConnectorError, PageUnavailable
from ingestion.connectors.fetch import fetch_platform
from ingestion.connectors.native import Capture, Page, Period, write_capture
from tests.platform_servers import serve
from tests.platform_servers.youtube import (
    KEY,
    PREFIX,
    Video,
    YouTubeServer,
    YTChannel,
    google_error,
    quota_exceeded,
    rate_limit_exceeded,
)
from tests.support import fetcher, write_files
from tests.test_connector_telegram import POST_COLUMNS, SNAPSHOT_COLUMNS, staged

PERIOD = Period(date(2026, 11, 13))
START, END = PERIOD.start_at, PERIOD.end_at  # 2026-11-12T19:00Z, 2026-11-19T19:00Z
CHANNEL_ID = "UCalmatyAkimat00000000A"
PAGE = Page("p_yt_a", "youtube", CHANNEL_ID, "A", "official_region")
GONE_PAGE = Page("p_yt_b", "youtube", "UCdeletedChannel0000000B", "A", "official_region")
CAPTURED_AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def week_channel() -> YTChannel:
    """3 uploads after the week, 60 inside it, 80 older, newest first. In the week: vid0000
    has its likes hidden, vid0001 its comments disabled, vid0002 is private."""
    channel = YTChannel(CHANNEL_ID, "@almaty_akimat", "Акимат Алматы", subscribers="1230000")
    for n in range(3):
        channel.videos.append(Video(f"next{n:04d}", iso(END + timedelta(hours=3 - n))))
    step = (END - START) / 61
    for n in range(60):
        video = Video(f"vid{n:04d}", iso(END - step * (n + 1)), views=str(1000 + n),
                      likes=str(50 + n), comments=str(n))
        video.likes = None if n == 0 else video.likes
        video.comments = None if n == 1 else video.comments
        video.private = n == 2
        channel.videos.append(video)
    for n in range(80):
        channel.videos.append(Video(f"old{n:04d}", iso(START - timedelta(hours=n + 1))))
    return channel


def sample_server() -> YouTubeServer:
    server = YouTubeServer()
    server.add(week_channel())
    server.add(YTChannel("UCdeletedChannel0000000B", "@old_akimat", "Бывший", deleted=True))
    return server


def in_week_ids(server: YouTubeServer) -> set[str]:
    return {v.video_id for v in server.channels[0].videos
            if START <= datetime.fromisoformat(v.published_at) < END and not v.private}


def video_items(captures: list[Capture]) -> list[dict]:
    return [i for c in captures if c.endpoint == "videos.list" for i in c.response["items"]]


@pytest.fixture
def server(serve_api: Callable[..., Any]) -> Iterator[YouTubeServer]:
    with serve_api("youtube", sample_server(), KEY, PREFIX) as fixture:
        yield fixture


fetch = fetcher(youtube, PAGE, PERIOD)


def test_uploads_are_paged_past_the_week_with_statistics(server: YouTubeServer) -> None:
    captures = fetch()
    assert [c.endpoint for c in captures] == [
        "channels.list", "playlistItems.list", "videos.list", "playlistItems.list",
        "videos.list"]
    # page 2 reaches older uploads: no third page is asked for
    assert captures[3].request["pageToken"] == captures[1].response["nextPageToken"]
    assert "nextPageToken" in captures[3].response
    assert in_week_ids(server) <= {item["id"] for item in video_items(captures)}
    listed = [i["contentDetails"]["videoId"] for i in captures[1].response["items"]]
    assert captures[2].request == {"part": "snippet,statistics", "id": ",".join(listed)}
    for path, query, _ in server.requests:
        assert query["key"] == KEY and path.startswith(PREFIX)
        assert int(query.get("maxResults", 0)) <= 50 and len(query.get("id", "").split(",")) <= 50
    assert all("key" not in c.request for c in captures)


def test_private_upload_and_channel_without_videos(server: YouTubeServer) -> None:
    captures = fetch()
    private = next(i for c in captures if c.endpoint == "playlistItems.list"
                   for i in c.response["items"] if i["contentDetails"]["videoId"] == "vid0002")
    assert "videoPublishedAt" not in private["contentDetails"]  # and still no crash
    assert "vid0002" not in {item["id"] for item in video_items(captures)}
    server.channels[0].videos, server.channels[0].uploads_missing = [], True
    assert [c.endpoint for c in fetch()] == ["channels.list"]  # videoCount "0": no 404 asked


def test_rate_limit_midway_is_waited_out_then_completes(server: YouTubeServer) -> None:
    # 1 channels, 2 uploads p1, 3 videos p1, 4 uploads p2: throttled, then the retry
    server.script[4] = rate_limit_exceeded(retry_after="1")
    began = time.monotonic()
    captures = fetch()
    assert time.monotonic() - began >= 1.0
    assert server.times[4] - server.times[3] >= 1.0  # the wait asked for was honoured
    assert server.requests[3][1] == server.requests[4][1]
    assert in_week_ids(server) <= {item["id"] for item in video_items(captures)}


def test_transient_server_error_is_retried(server: YouTubeServer) -> None:
    server.failures.append(google_error(503, "backendError", "Backend Error", domain="global"))
    assert len(fetch()) == 5 and len(server.requests) == 6


def test_spent_quota_stops_at_once(server: YouTubeServer) -> None:
    server.failures.append(quota_exceeded())
    with pytest.raises(ConnectorError) as raised:
        fetch()
    assert not isinstance(raised.value, (AuthError, PageUnavailable))
    assert "quotaExceeded" in str(raised.value) and "midnight Pacific" in str(raised.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize("expired", [False, True])
def test_refused_key_raises_auth_error_at_once(server: YouTubeServer,
                                               monkeypatch: pytest.MonkeyPatch,
                                               expired: bool) -> None:
    bad = "AIzaRevokedKey-0f9e8d7c"
    if expired:
        server.expired_keys.add(bad)
    monkeypatch.setenv("GOVPULSE_YOUTUBE_TOKEN", bad)
    with pytest.raises(AuthError) as raised:
        fetch()
    assert len(server.requests) == 1
    message = str(raised.value)
    assert "youtube" in message and "GOVPULSE_YOUTUBE_TOKEN" in message
    assert bad not in message and KEY not in message


def test_deleted_channel_and_missing_uploads_raise_page_unavailable(
        server: YouTubeServer) -> None:
    with pytest.raises(PageUnavailable) as raised:
        fetch(GONE_PAGE)
    assert "p_yt_b" in str(raised.value)
    server.channels[0].uploads_missing = True
    with pytest.raises(PageUnavailable, match="playlistNotFound"):
        fetch()


def test_statistics_come_through_as_sent(server: YouTubeServer) -> None:
    server.channels[0].subscribers = None  # hidden subscriber count
    captures = fetch()
    stats = captures[0].response["items"][0]["statistics"]
    assert "subscriberCount" not in stats and stats["hiddenSubscriberCount"] is True
    videos = {item["id"]: item["statistics"] for item in video_items(captures)}
    assert videos["vid0003"] == {"viewCount": "1003", "likeCount": "53", "favoriteCount": "0",
                                 "commentCount": "3"}
    assert "likeCount" not in videos["vid0000"] and "commentCount" not in videos["vid0001"]


def write_registry(root: Path) -> Path:
    return write_files(root, {
        "entities.csv": "entity_id,level,name_ru\nA,region,г. Алматы\n",
        "populations.csv": "entity_id,population,population_date\nA,2000000,2023-01-01\n",
        "pages.csv": (
            "page_id,platform,platform_page_id,entity_id,page_kind\n"
            f"p_yt_a,youtube,{CHANNEL_ID},A,official_region\n"
            "p_yt_b,youtube,UCdeletedChannel0000000B,A,official_region\n"
        ),
        "aliases.csv": "entity_id,alias,lang\nA,Алматы,ru\n",
        "excluded_sources.csv": "platform,source_id,reason\n",
    })


def test_fetch_platform_end_to_end(server: YouTubeServer, tmp_path: Path) -> None:
    registry, inbox = write_registry(tmp_path / "registry"), tmp_path / "inbox"
    report = fetch_platform("youtube", PERIOD.start, registry, inbox)
    assert report.ok, report.error
    assert {k: v["status"] for k, v in report.pages.items()} == {
        "p_yt_a": "fetched", "p_yt_b": "gone"}
    # the page_gone alert names the page and says what to do
    alert = report.pages["p_yt_b"]["alert"]
    assert report.gone_alerts() == [alert] and "set active_to for p_yt_b" in alert
    assert "youtube id UCdeletedChannel0000000B" in alert
    folder = inbox / "api" / "youtube" / "2026-11-13"
    assert len(report.files) == 5 and all(f.startswith("api/youtube/2026-11-13/")
                                          for f in report.files)
    first = {p.name: p.read_bytes() for p in folder.glob("*.list-*.json")}
    again = fetch_platform("youtube", PERIOD.start, registry, inbox)
    assert again.ok and len(again.files) == 5
    after = {p.name: p.read_bytes() for p in folder.glob("*.list-*.json")}
    assert len(first) == 5 and len(after) == 10  # captured_at differs: new files
    assert all(after[name] == content for name, content in first.items())
    assert KEY not in "".join(p.read_text(encoding="utf-8") for p in inbox.rglob("*.json"))


def write_sample_captures(inbox: Path) -> None:
    """The sample channel fetched through the connector, as capture files in the inbox."""
    with serve(sample_server()) as url:
        base_url = (url + PREFIX).rstrip("/")
        client = youtube.Client(ClientSettings(base_url, KEY, backoff_seconds=0.01))
        for n, capture in enumerate(youtube.fetch_page(client, PAGE, PERIOD)):
            write_capture(inbox, "youtube", PERIOD, capture, CAPTURED_AT + timedelta(seconds=n))


def test_staging_maps_native_json(api_staged: Path) -> None:
    columns, snapshots = staged(api_staged, "stg_youtube__page_snapshots")
    assert columns == SNAPSHOT_COLUMNS
    assert [(s["platform_page_id"], s["captured_at"], s["subscribers"]) for s in snapshots] == [
        (CHANNEL_ID, CAPTURED_AT, 1230000)]

    columns, posts = staged(api_staged, "stg_youtube__page_posts")
    assert columns == POST_COLUMNS
    videos = {v.video_id: v for v in week_channel().videos[:100]}  # the two pages fetched
    assert {p["post_id"] for p in posts} == {k for k, v in videos.items() if not v.private}
    assert len({(p["_load_id"], p["_line"]) for p in posts}) == len(posts)
    rows = {p["post_id"]: p for p in posts}
    page_one, page_two = CAPTURED_AT + timedelta(seconds=2), CAPTURED_AT + timedelta(seconds=4)
    assert rows["vid0003"] | {"_load_id": None} == {
        "platform": "youtube", "platform_page_id": CHANNEL_ID, "post_id": "vid0003",
        "published_at": datetime.fromisoformat(videos["vid0003"].published_at),
        "captured_at": page_one, "likes": 53, "comments": 3, "reposts": 0, "views": 1003,
        "engagement": 56, "_load_id": None, "_line": 7}
    assert (rows["vid0000"]["likes"], rows["vid0000"]["engagement"]) == (None, 0)
    assert (rows["vid0001"]["comments"], rows["vid0001"]["engagement"]) == (None, 51)
    assert rows["vid0059"]["captured_at"] == page_two  # statistics of its own page's call
