"""A YouTube Data API v3 server (research/platforms.md §4) holding a few channels in memory.

Paths as under `https://www.googleapis.com/youtube/v3/`: `channels`, `playlistItems`, `videos`;
the API key as the `key` query parameter. Statistics are strings and any of them can be
absent; an unknown channel is HTTP 200 without `items`; uploads page by an opaque
`nextPageToken`; a private upload has no `videoPublishedAt` and is left out of `videos`.
Errors are Google error bodies with real statuses: `quota_exceeded()`,
`rate_limit_exceeded()`, 400 invalid or expired key, 404 `playlistNotFound`. Scripted
replies: `failures` (served first) or `script[n]` (the n-th request, 1-based).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any

from tests.platform_servers import FixtureServer, Reply

KEY = "AIzaFixtureKey-youtube-7d3e"
PREFIX = "/youtube/v3/"


def google_error(status: int, reason: str, message: str, domain: str = "youtube.api",
                 headers: dict[str, str] | None = None,
                 details: list[dict[str, Any]] | None = None) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message,
                             "errors": [{"message": message, "domain": domain,
                                         "reason": reason}]}
    if details:
        error["details"] = details
    return Reply(status, {"error": error}, headers or {})


def quota_exceeded() -> Reply:
    text = ("The request cannot be completed because you have exceeded your "
            '<a href="/youtube/v3/getting-started#quota">quota</a>.')
    return google_error(403, "quotaExceeded", text, domain="youtube.quota")


def rate_limit_exceeded(retry_after: str | None = None) -> Reply:
    return google_error(403, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits",
                        headers={"Retry-After": retry_after} if retry_after else None)


def key_error(reason: str, message: str) -> Reply:
    # what Google front-ends send for a bad key: reason badRequest, the detail in details[]
    reply = google_error(400, "badRequest", message, domain="global", details=[{
        "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
        "domain": "googleapis.com", "metadata": {"service": "youtube.googleapis.com"}}])
    reply.body["error"]["status"] = "INVALID_ARGUMENT"
    return reply


@dataclass
class Video:
    video_id: str
    published_at: str  # ISO-8601 "…Z"
    views: str | None = "1000"
    likes: str | None = "50"  # None: likes hidden
    comments: str | None = "5"  # None: comments disabled
    private: bool = False

    def statistics(self) -> dict[str, str]:
        stats = {"viewCount": self.views, "likeCount": self.likes, "favoriteCount": "0",
                 "commentCount": self.comments}
        return {k: v for k, v in stats.items() if v is not None}


@dataclass
class YTChannel:
    channel_id: str  # "UC…"
    handle: str  # "@…"
    title: str
    subscribers: str | None = "12300"  # None: hiddenSubscriberCount
    videos: list[Video] = field(default_factory=list)  # newest first
    deleted: bool = False
    uploads_missing: bool = False  # the uploads playlist answers 404 playlistNotFound

    @property
    def uploads(self) -> str:
        return "UU" + self.channel_id[2:]

    def resource(self, parts: set[str]) -> dict[str, Any]:
        stats: dict[str, Any] = {"viewCount": "123456789",
                                 "hiddenSubscriberCount": self.subscribers is None,
                                 "videoCount": str(len(self.videos))}
        if self.subscribers is not None:
            stats["subscriberCount"] = self.subscribers
        item: dict[str, Any] = {"kind": "youtube#channel", "etag": "ch-etag",
                                "id": self.channel_id}
        if "snippet" in parts:
            item["snippet"] = {"title": self.title, "customUrl": self.handle,
                               "publishedAt": "2012-03-01T10:00:00Z"}
        if "contentDetails" in parts:
            item["contentDetails"] = {"relatedPlaylists": {"likes": "",
                                                           "uploads": self.uploads}}
        if "statistics" in parts:
            item["statistics"] = stats
        return item


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def token_offset(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        return int(text.removeprefix("offset:")) if text.startswith("offset:") else None
    except ValueError:
        return None


class YouTubeServer(FixtureServer):
    def __init__(self, key: str = KEY) -> None:
        super().__init__()
        self.key = key
        self.expired_keys: set[str] = set()
        self.channels: list[YTChannel] = []
        self.script: dict[int, Reply] = {}
        self.times: list[float] = []

    def add(self, channel: YTChannel) -> YTChannel:
        self.channels.append(channel)
        return channel

    def handle(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        self.times.append(time.monotonic())
        scripted = self.script.get(len(self.requests) + 1)
        if scripted is not None and not self.failures:
            self.requests.append((path, query, headers))
            return scripted
        return super().handle(path, query, headers)

    def route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        key = query.get("key")
        if not key:
            return google_error(403, "forbidden", "The request is missing a valid API key.",
                                domain="global")
        if key in self.expired_keys:
            return key_error("API_KEY_EXPIRED", "API key expired. Please renew the API key.")
        if key != self.key:
            return key_error("API_KEY_INVALID", "API key not valid. Please pass a valid API key.")
        if not path.startswith(PREFIX):
            return google_error(404, "notFound", "Not Found", domain="global")
        method, parts = path.removeprefix(PREFIX), set(query.get("part", "").split(","))
        if not parts - {""}:
            return google_error(400, "required", "Required parameter: part", domain="global")
        if method == "channels":
            return self.list_channels(query, parts)
        if method == "playlistItems":
            return self.list_uploads(query, parts)
        if method == "videos":
            return self.list_videos(query, parts)
        return google_error(404, "notFound", "Not Found", domain="global")

    def live(self) -> list[YTChannel]:
        return [c for c in self.channels if not c.deleted]

    def list_channels(self, query: dict[str, str], parts: set[str]) -> Reply:
        wanted = set(query.get("id", "").split(",")) - {""}
        handle = query.get("forHandle", "")
        found = [c for c in self.live() if c.channel_id in wanted or c.handle == handle]
        body: dict[str, Any] = {"kind": "youtube#channelListResponse", "etag": "cl-etag",
                                "pageInfo": {"totalResults": len(found), "resultsPerPage": 5}}
        if found:  # an unknown channel: no `items` key at all
            body["items"] = [c.resource(parts) for c in found]
        return Reply(200, body)

    def list_uploads(self, query: dict[str, str], parts: set[str]) -> Reply:
        size = int(query.get("maxResults", 5))
        if not 0 <= size <= 50:
            return google_error(400, "invalidParameter", "Invalid value for maxResults")
        playlist = query.get("playlistId", "")
        channel = next((c for c in self.live() if c.uploads == playlist), None)
        if channel is None or channel.uploads_missing:
            return google_error(404, "playlistNotFound", "The playlist identified with the "
                                "request's <code>playlistId</code> parameter cannot be found.")
        offset = token_offset(query["pageToken"]) if query.get("pageToken") else 0
        if offset is None:
            return google_error(400, "invalidPageToken", "The request specifies an invalid "
                                "page token.")
        page = channel.videos[offset:offset + size]
        body: dict[str, Any] = {
            "kind": "youtube#playlistItemListResponse", "etag": "pl-etag",
            "pageInfo": {"totalResults": len(channel.videos), "resultsPerPage": size},
            "items": [self.playlist_item(channel, v, offset + n, parts)
                      for n, v in enumerate(page)],
        }
        if offset + size < len(channel.videos):
            body["nextPageToken"] = page_token(offset + size)
        if offset:
            body["prevPageToken"] = page_token(max(offset - size, 0))
        return Reply(200, body)

    @staticmethod
    def playlist_item(channel: YTChannel, video: Video, position: int,
                      parts: set[str]) -> dict[str, Any]:
        item: dict[str, Any] = {"kind": "youtube#playlistItem", "etag": "pi-etag",
                                "id": f"{channel.uploads}.{video.video_id}"}
        if "contentDetails" in parts:
            details = {"videoId": video.video_id}
            if not video.private:
                details["videoPublishedAt"] = video.published_at
            item["contentDetails"] = details
        if "snippet" in parts:
            item["snippet"] = {"publishedAt": video.published_at, "channelId": channel.channel_id,
                               "title": "Private video" if video.private else "Video",
                               "playlistId": channel.uploads, "position": position,
                               "resourceId": {"kind": "youtube#video",
                                              "videoId": video.video_id}}
        return item

    def list_videos(self, query: dict[str, str], parts: set[str]) -> Reply:
        ids = [i for i in query.get("id", "").split(",") if i]
        if len(ids) > 50:
            return google_error(400, "invalidParameter", "Too many ids")  # [unverified]
        known = {v.video_id: (c, v) for c in self.live() for v in c.videos if not v.private}
        items = []
        for video_id in ids:  # unknown or private ids are silently left out
            if video_id not in known:
                continue
            channel, video = known[video_id]
            item: dict[str, Any] = {"kind": "youtube#video", "etag": "v-etag", "id": video_id}
            if "snippet" in parts:
                item["snippet"] = {"publishedAt": video.published_at,
                                   "channelId": channel.channel_id, "title": "Video"}
            if "statistics" in parts:
                item["statistics"] = video.statistics()
            items.append(item)
        return Reply(200, {"kind": "youtube#videoListResponse", "etag": "vl-etag",
                           "pageInfo": {"totalResults": len(items),
                                        "resultsPerPage": len(items)},
                           "items": items})
