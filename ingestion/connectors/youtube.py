"""YouTube channels through the Data API v3 (research/platforms.md §4).

Subscribers come from `channels.list`; the week's videos from the channel's uploads playlist
(`playlistItems.list`, newest first, `nextPageToken` chain), with their statistics from a second
call, `videos.list`, for the ids of each playlist page. Counters are strings. Errors use real
HTTP statuses with `{"error": {"code", "message", "errors": [{"reason", …}]}}`; the API key
goes in the `key` query parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import requests

from ingestion.connectors.base import (
    AUTH,
    FATAL,
    GONE,
    OK,
    RATE_LIMITED,
    TRANSIENT,
    PageUnavailable,
    PlatformClient,
    Verdict,
    retry_after,
)
from ingestion.connectors.native import Capture, Page, Period

CHANNELS = "channels.list"
UPLOADS = "playlistItems.list"
VIDEOS = "videos.list"
PATHS = {CHANNELS: "channels", UPLOADS: "playlistItems", VIDEOS: "videos"}
PAGE_SIZE = 50  # maxResults and the id list of videos.list are capped at 50

RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
AUTH_REASONS = {"keyInvalid", "keyExpired", "authError", "forbidden", "accessNotConfigured",
                "ipRefererBlocked", "API_KEY_INVALID", "API_KEY_EXPIRED",
                "API_KEY_SERVICE_BLOCKED"}
GONE_REASONS = {"channelNotFound", "playlistNotFound", "videoNotFound",
                "playlistItemsNotAccessible", "channelClosed", "channelSuspended",
                "playlistForbidden"}


class Client(PlatformClient):
    platform = "youtube"
    default_url = "https://www.googleapis.com/youtube/v3"

    def authorize(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        params["key"] = self.settings.token  # an API key for public data

    def classify(self, response: requests.Response, body: Any) -> Verdict:
        status = response.status_code
        if status < 400:
            return Verdict(OK) if isinstance(body, dict) else Verdict(
                TRANSIENT, f"HTTP {status}: not a JSON object")
        reasons, text = error_reasons(body)
        message = f"HTTP {status} {'/'.join(sorted(reasons)) or 'error'}: {text}".rstrip(": ")
        if "quotaExceeded" in reasons:
            # the daily quota resets at midnight Pacific time: retrying only burns time
            return Verdict(FATAL, f"{message} (daily quota spent; it resets at midnight "
                                  "Pacific time)")
        if reasons & RATE_REASONS or status == 429:
            return Verdict(RATE_LIMITED, message, retry_after(response))
        if reasons & AUTH_REASONS or status == 401 or "API key" in text:
            return Verdict(AUTH, message)
        if reasons & GONE_REASONS or status == 404:
            return Verdict(GONE, message)
        if status >= 500:
            return Verdict(TRANSIENT, message, retry_after(response))
        if status == 403:
            return Verdict(AUTH, message)
        return Verdict(FATAL, message)


def error_reasons(body: Any) -> tuple[set[str], str]:
    """The `reason`s of a Google error body (errors[] and details[]) and its message."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return set(), ""
    reasons = {str(e.get("reason")) for e in error.get("errors") or []
               if isinstance(e, dict) and e.get("reason")}
    reasons |= {str(d.get("reason")) for d in error.get("details") or []
                if isinstance(d, dict) and d.get("reason")}
    return reasons, str(error.get("message") or "")[:200]


def channel_params(platform_page_id: str) -> dict[str, Any]:
    """`UC…` ids by `id`, `@handle`s by `forHandle`."""
    ref = platform_page_id.strip()
    key = "forHandle" if ref.startswith("@") else "id"
    return {"part": "snippet,statistics,contentDetails", key: ref}


def fetch_page(client: Client, page: Page, period: Period) -> Iterator[Capture]:
    """The channel, then uploads pages (each with its videos' statistics) back past the week."""
    params = channel_params(page.platform_page_id)
    body = client.get_json(PATHS[CHANNELS], params, page=page.page_id)
    items = body.get("items") or []  # an unknown channel: 200 with no `items` at all
    if not items:
        raise PageUnavailable(f"youtube {CHANNELS}: no items for channel "
                              f"{page.platform_page_id!r}: YouTube does not know it (page "
                              f"{page.page_id})")
    yield Capture(CHANNELS, body, dict(params), page)
    channel = items[0]
    if str((channel.get("statistics") or {}).get("videoCount", "")) == "0":
        return  # no uploads: the uploads playlist answers 404 playlistNotFound
    yield from _uploads(client, page, period, uploads_playlist(channel))


def uploads_playlist(channel: dict[str, Any]) -> str:
    related = (channel.get("contentDetails") or {}).get("relatedPlaylists") or {}
    return related.get("uploads") or "UU" + str(channel.get("id", ""))[2:]


def _uploads(client: Client, page: Page, period: Period, playlist: str) -> Iterator[Capture]:
    start, token = period.start_at, None
    while True:
        params: dict[str, Any] = {"part": "contentDetails", "playlistId": playlist,
                                  "maxResults": PAGE_SIZE}
        if token:
            params["pageToken"] = token
        body = client.get_json(PATHS[UPLOADS], params, page=page.page_id)
        yield Capture(UPLOADS, body, dict(params), page)
        details = [item.get("contentDetails") or {} for item in body.get("items") or []]
        ids = [d["videoId"] for d in details if d.get("videoId")]
        if ids:  # statistics need a second call: staging joins them to these items by id
            video_params = {"part": "snippet,statistics", "id": ",".join(ids)}
            videos = client.get_json(PATHS[VIDEOS], video_params, page=page.page_id)
            yield Capture(VIDEOS, videos, video_params, page)
        # private videos carry no videoPublishedAt; uploads come newest first
        dates = [d for d in (_instant(x.get("videoPublishedAt")) for x in details) if d]
        token = body.get("nextPageToken")
        if not token or (dates and min(dates) < start):
            return


def _instant(value: Any) -> datetime | None:
    """An ISO-8601 instant (`…Z`); one without an offset is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
