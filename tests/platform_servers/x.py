"""An X API v2 server (research/platforms.md §7) holding a few accounts in memory.

Paths as under `https://api.x.com/2/`: `users/by/username/:username`, `users/:id`,
`users/:id/tweets`; the token as `Authorization: Bearer`. Ids are strings, times
`2026-11-14T05:00:00.000Z`; a missing, suspended or protected account is HTTP 200 with only
`errors[]`; the timeline pages by an opaque `meta.next_token` and an empty page is
`{"meta": {"result_count": 0, …}}` without `data`; every reply carries the `x-rate-limit-*`
headers. Scripted replies: `failures` (served first) or `script[n]` (the n-th request,
1-based): `too_many_requests()`, problem-JSON 401/403/400.
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.platform_servers import FixtureServer, Reply

TOKEN = "AAAAAAAAAAAAAAAAAAAAAFixtureBearerX%2Fe4b1"
PREFIX = "/2/"
PROBLEMS = "https://api.twitter.com/2/problems/"


def rate_headers(remaining: int = 899, reset_in: int = 900) -> dict[str, str]:
    return {"x-rate-limit-limit": "900", "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(time.time()) + reset_in)}


def too_many_requests(reset_in: int = 2, legacy: bool = False) -> Reply:
    body = ({"errors": [{"code": 88, "message": "Rate limit exceeded"}]} if legacy else
            {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
             "status": 429})
    return Reply(429, body, rate_headers(0, reset_in))


def unauthorized() -> Reply:
    return Reply(401, {"title": "Unauthorized", "type": "about:blank", "status": 401,
                       "detail": "Unauthorized"})


def client_forbidden() -> Reply:
    return Reply(403, {
        "client_id": "29145023", "title": "Client Forbidden", "reason": "client-not-enrolled",
        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use "
                  "keys and tokens from a Twitter developer App that is attached to a Project.",
        "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
        "required_enrollment": "Appropriate Level of API Access",
        "type": f"{PROBLEMS}client-forbidden"})


def invalid_request(parameter: str, value: str, message: str) -> Reply:
    return Reply(400, {"errors": [{"parameters": {parameter: [value]}, "message": message}],
                       "title": "Invalid Request",
                       "detail": "One or more parameters to your request was invalid.",
                       "type": f"{PROBLEMS}invalid-request"})


def x_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class XPost:
    post_id: str
    created_at: datetime
    likes: int | None = 10
    replies: int | None = 2
    retweets: int | None = 3
    quotes: int | None = 1
    impressions: int | None = 500
    retweet: bool = False  # a retweet of someone else's post (left out by exclude=retweets)

    def render(self, fields: set[str]) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.post_id, "text": f"Post {self.post_id}",
                                "edit_history_tweet_ids": [self.post_id]}
        if "created_at" in fields:
            item["created_at"] = x_time(self.created_at)
        if "public_metrics" in fields:
            metrics = {"retweet_count": self.retweets, "reply_count": self.replies,
                       "like_count": self.likes, "quote_count": self.quotes,
                       "bookmark_count": 0, "impression_count": self.impressions}
            item["public_metrics"] = {k: v for k, v in metrics.items() if v is not None}
        return item


@dataclass
class XUser:
    user_id: str
    username: str
    name: str
    followers: int | None = 1000
    posts: list[XPost] = field(default_factory=list)
    suspended: bool = False
    protected: bool = False

    def render(self, fields: set[str]) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.user_id, "name": self.name, "username": self.username}
        if "created_at" in fields:
            item["created_at"] = "2013-12-14T04:35:55.000Z"
        if "public_metrics" in fields:
            metrics = {"followers_count": self.followers, "following_count": 120,
                       "tweet_count": len(self.posts), "listed_count": 7}
            item["public_metrics"] = {k: v for k, v in metrics.items() if v is not None}
        return item


def token_for(offset: int, page: int) -> str:
    return base64.b32encode(json.dumps([offset, page]).encode()).decode().rstrip("=").lower()


def token_value(token: str) -> tuple[int, int] | None:
    try:
        text = base64.b32decode(token.upper() + "=" * (-len(token) % 8)).decode()
        offset, page = json.loads(text)
        return int(offset), int(page)
    except (ValueError, TypeError):
        return None


class XServer(FixtureServer):
    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.users: list[XUser] = []
        self.script: dict[int, Reply] = {}
        self.times: list[float] = []
        self.time_filter = True  # honour start_time/end_time
        self.empty_pages: set[int] = set()  # 0-based timeline pages answered empty (with a token)

    def add(self, user: XUser) -> XUser:
        self.users.append(user)
        return user

    def handle(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        self.times.append(time.monotonic())
        scripted = self.script.get(len(self.requests) + 1)
        if scripted is not None and not self.failures:
            self.requests.append((path, query, headers))
            return scripted
        return super().handle(path, query, headers)

    def route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if auth != f"Bearer {self.token}":
            return unauthorized()
        fields = set(query.get("user.fields", "").split(","))
        if match := re.fullmatch(r"/2/users/by/username/([A-Za-z0-9_]+)", path):
            user = self.find(username=match[1])
            return self.lookup(user, "username", match[1], fields)
        if match := re.fullmatch(r"/2/users/(\d+)", path):
            return self.lookup(self.find(user_id=match[1]), "id", match[1], fields)
        if match := re.fullmatch(r"/2/users/(\d+)/tweets", path):
            return self.timeline(match[1], query)
        return Reply(404, {"title": "Not Found", "type": "about:blank", "status": 404,
                           "detail": "Not Found"})

    def find(self, username: str = "", user_id: str = "") -> XUser | None:
        for user in self.users:
            if user.username.lower() == username.lower() or user.user_id == user_id:
                return user
        return None

    def lookup(self, user: XUser | None, parameter: str, value: str,
               fields: set[str]) -> Reply:
        if user is None or user.suspended:
            return Reply(200, {"errors": [not_found(parameter, value, user is not None)]},
                         rate_headers())
        return Reply(200, {"data": user.render(fields)}, rate_headers())

    def timeline(self, user_id: str, query: dict[str, str]) -> Reply:
        size = int(query.get("max_results", 10))
        if not 5 <= size <= 100:
            return invalid_request("max_results", str(size), "The `max_results` query parameter "
                                   f"value [{size}] is not between 5 and 100")
        user = self.find(user_id=user_id)
        if user is None or user.suspended:
            return Reply(200, {"errors": [not_found("id", user_id, user is not None)]})
        if user.protected:
            return Reply(200, {"errors": [{
                "resource_type": "user", "parameter": "id", "resource_id": user_id,
                "title": "Authorization Error", "value": user_id,
                "detail": f"Sorry, you are not authorized to see the user with id: [{user_id}].",
                "type": f"{PROBLEMS}not-authorized-for-resource"}]})
        offset, page = (0, 0)
        if query.get("pagination_token"):
            decoded = token_value(query["pagination_token"])
            if decoded is None:
                return invalid_request("pagination_token", query["pagination_token"],
                                       "The `pagination_token` query parameter value is "
                                       "not valid")
            offset, page = decoded
        posts = self.visible(user, query)
        if page in self.empty_pages:
            chunk, next_offset = [], offset
        else:
            chunk, next_offset = posts[offset:offset + size], offset + size
        meta: dict[str, Any] = {"result_count": len(chunk)}
        if chunk:
            meta |= {"newest_id": chunk[0].post_id, "oldest_id": chunk[-1].post_id}
        if next_offset < len(posts):
            meta["next_token"] = token_for(next_offset, page + 1)
        if page:
            meta["previous_token"] = token_for(max(offset - size, 0), page - 1)
        fields = set(query.get("tweet.fields", "").split(","))
        body: dict[str, Any] = {"meta": meta}
        if chunk:  # an empty page has no `data` key at all
            body = {"data": [p.render(fields) for p in chunk], "meta": meta}
        return Reply(200, body, rate_headers())

    def visible(self, user: XUser, query: dict[str, str]) -> list[XPost]:
        posts = sorted(user.posts, key=lambda p: p.created_at, reverse=True)
        excluded = set(query.get("exclude", "").split(","))
        posts = [p for p in posts if not (p.retweet and "retweets" in excluded)]
        if self.time_filter and query.get("start_time"):
            start = datetime.fromisoformat(query["start_time"])
            posts = [p for p in posts if p.created_at >= start]
        if self.time_filter and query.get("end_time"):
            end = datetime.fromisoformat(query["end_time"])
            posts = [p for p in posts if p.created_at < end]
        return posts


def not_found(parameter: str, value: str, suspended: bool) -> dict[str, Any]:
    if suspended:
        return {"value": value, "detail": f"User has been suspended: [{value}].",
                "title": "Forbidden", "resource_type": "user", "parameter": parameter,
                "resource_id": value, "type": f"{PROBLEMS}resource-not-found"}
    what = "username" if parameter == "username" else "id"
    return {"value": value, "detail": f"Could not find user with {what}: [{value}].",
            "title": "Not Found Error", "resource_type": "user", "parameter": parameter,
            "resource_id": value, "type": f"{PROBLEMS}resource-not-found"}
