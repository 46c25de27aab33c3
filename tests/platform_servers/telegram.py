"""A TGStat API server (research/platforms.md §3A) holding a few channels in memory.

It speaks TGStat's format: `{"status": "ok", "response": …}` on success and
`{"status": "error", "error": "<code>"}` with HTTP 200 on failure; token as the `token` query
parameter; `channels/posts` newest first with `limit` ≤ 50 and `offset` ≤ 1000; counters can
be sent as strings or left out; `tgstat_restrictions` is `[]` by default (the documented
gotcha). Scripted replies: `failures` (served first) or `script[n]` (served as the n-th request,
1-based) — e.g. `flood_control(10)` in the middle of a paging chain.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.platform_servers import FixtureServer, Reply

TOKEN = "tgstat-fixture-token-5f1c"
# The unknown-channel code is not documented [unverified]; tests may set another one.
NOT_FOUND_CODE = "channel_not_found"


def error(code: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"status": "error", "error": code}, headers or {})


def flood_control(seconds: int = 10, headers: dict[str, str] | None = None) -> Reply:
    return error(f"flood_control_{seconds}", headers=headers)


def post(channel_id: int, username: str, message_id: int, date: int, *,
         views: Any = 1000, shares: Any = 5, comments: Any = 2, reactions: Any = 30,
         deleted: bool = False) -> dict[str, Any]:
    """A channels/posts item; a counter given as None is left out, as TGStat does."""
    item: dict[str, Any] = {
        "id": 23_000_000_000 + channel_id * 100_000 + message_id,
        "date": date,
        "views": views,
        "link": f"t.me/{username}/{message_id}",
        "channel_id": channel_id,
        "forwarded_from": None,
        "is_deleted": 1 if deleted else 0,
        "group_id": None,
        "text": f"Post {message_id}",
        "media": {"media_type": "mediaPhoto", "mime_type": "image/jpeg", "size": 123456},
        "shares_count": shares,
        "comments_count": comments,
        "reactions_count": reactions,
    }
    return {k: v for k, v in item.items() if v is not None or k in ("forwarded_from", "group_id")}


@dataclass
class Channel:
    tgstat_id: int
    username: str  # without "@"
    title: str
    participants_count: Any = 1000  # an int, a numeric string, or None (left out)
    posts: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    restrictions: Any = field(default_factory=list)  # [] or {"red_label": …}

    def card(self) -> dict[str, Any]:
        card = {
            "id": self.tgstat_id, "tg_id": 1_100_000_000 + self.tgstat_id,
            "link": f"t.me/{self.username}", "peer_type": "channel",
            "username": f"@{self.username}", "active_usernames": [f"@{self.username}"],
            "title": self.title, "about": "Official channel", "category": "Новости и СМИ",
            "country": "Казахстан", "language": "Русский",
            "image100": "//static.tgstat.com/100.jpg", "image640": "//static.tgstat.com/640.jpg",
            "participants_count": self.participants_count, "ci_index": 12.5,
            "tgstat_restrictions": self.restrictions, "created_at": 1_500_000_000,
        }
        return {k: v for k, v in card.items() if v is not None}


class TGStatServer(FixtureServer):
    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.channels: list[Channel] = []
        self.script: dict[int, Reply] = {}
        self.times: list[float] = []  # monotonic arrival time of every request
        self.time_filter = True  # honour startTime/endTime; False: a server that ignores them
        self.not_found_code = NOT_FOUND_CODE

    def add(self, channel: Channel) -> Channel:
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
        token = query.get("token", "")
        if not token:
            return error("empty_token")
        if token != self.token:
            return error("token_invalid")
        method = path.strip("/")
        if method not in ("channels/get", "channels/stat", "channels/posts"):
            return error("wrong_method")
        channel = self.find(query.get("channelId", ""))
        if channel is None or channel.deleted:
            return error(self.not_found_code)
        if method == "channels/get":
            return ok(channel.card())
        if method == "channels/stat":
            return ok(self.stat(channel))
        return self.posts(channel, query)

    def find(self, channel_id: str) -> Channel | None:
        ref = channel_id.removeprefix("https://").removeprefix("t.me/").removeprefix("@")
        for channel in self.channels:
            if ref in (channel.username, str(channel.tgstat_id)):
                return channel
        return None

    @staticmethod
    def stat(channel: Channel) -> dict[str, Any]:
        return {"id": channel.tgstat_id, "title": channel.title,
                "username": f"@{channel.username}", "peer_type": "channel",
                "participants_count": channel.participants_count, "avg_post_reach": 500,
                "err_percent": 26.4, "er_percent": 11.1, "posts_count": len(channel.posts)}

    def posts(self, channel: Channel, query: dict[str, str]) -> Reply:
        limit, offset = int(query.get("limit", 20)), int(query.get("offset", 0))
        # Out-of-range paging: the exact error code is undocumented [unverified].
        if not 0 < limit <= 50:
            return error("wrong_limit")
        if not 0 <= offset <= 1000:
            return error("wrong_offset")
        items = sorted(channel.posts, key=lambda p: int(p["date"]), reverse=True)
        if self.time_filter:
            start, end = query.get("startTime"), query.get("endTime")
            items = [p for p in items if (start is None or int(p["date"]) >= int(start))
                     and (end is None or int(p["date"]) <= int(end))]
        page = items[offset:offset + limit]
        response: dict[str, Any] = {"count": len(page), "total_count": len(channel.posts),
                                    "items": page}
        if query.get("extended") == "1":
            response["channel"] = {"id": channel.tgstat_id, "link": f"t.me/{channel.username}",
                                   "username": f"@{channel.username}", "title": channel.title,
                                   "participants_count": channel.participants_count}
        return ok(response)


def ok(response: Any) -> Reply:
    return Reply(200, {"status": "ok", "response": response})
