"""A VK API 5.199 imitation (research/platforms.md §1): groups.getById, wall.get and
newsfeed.search at `/method/<name>`, errors as HTTP 200 bodies with `error_code`.

Script failures with `failures` (served first, in order) or `at_call` (the reply for the n-th
request, counted from 1), e.g. `VkServer.error(6)` for "too many requests per second".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.platform_servers import FixtureServer, Reply

ERROR_MESSAGES = {
    1: "Unknown error occurred",
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    8: "Invalid request: v (version) is required",
    9: "Flood control",
    10: "Internal server error",
    15: "Access denied: group is blocked",
    18: "User was deleted or banned",
    29: "Rate limit reached",
    30: "This profile is private",
    100: "One of the parameters specified was missing or invalid: group_ids is undefined",
}


@dataclass
class Community:
    id: int
    screen_name: str
    name: str = "Акимат"
    members_count: int | None = 1000  # None: the field is left out
    is_closed: int = 0  # 0 open, 1 closed, 2 private
    deactivated: str | None = None  # "deleted" or "banned"
    posts: list[dict[str, Any]] = field(default_factory=list)  # wall order: pinned, newest…


def post(owner_id: int, post_id: int, date: int, *, likes: int = 1, comments: int | None = 0,
         reposts: int = 0, views: int | None = 10, pinned: bool = False, text: str = "",
         from_id: int | None = None) -> dict[str, Any]:
    """A wall_wallpost_full as VK sends it; None leaves the optional counter out."""
    item: dict[str, Any] = {
        "inner_type": "wall_wallpost", "id": post_id, "owner_id": owner_id,
        "from_id": owner_id if from_id is None else from_id, "date": date,
        "post_type": "post", "type": "post", "text": text, "marked_as_ads": 0,
        "hash": f"h{post_id}", "attachments": [], "post_source": {"type": "vk"},
        "likes": {"can_like": 1, "count": likes, "user_likes": 0, "can_publish": 1,
                  "repost_disabled": False},
        "reposts": {"count": reposts, "wall_count": reposts, "mail_count": 0,
                    "user_reposted": 0},
        "copy_history": [],
    }
    if pinned:
        item["is_pinned"] = 1
    if comments is not None:
        item["comments"] = {"can_post": 1, "count": comments, "groups_can_post": True}
    if views is not None:
        item["views"] = {"count": views}
    return item


class VkServer(FixtureServer):
    def __init__(self, token: str = "vk-test-token") -> None:
        super().__init__()
        self.tokens = {token}
        self.expired: set[str] = set()  # tokens that answer error 5
        self.communities: dict[int, Community] = {}
        self.search_posts: list[dict[str, Any]] = []  # newest first, as newsfeed.search sorts
        self.profiles: dict[int, dict[str, Any]] = {}  # users that may author search results
        self.search_page_size: int | None = None  # None: honour `count`
        self.at_call: dict[int, Reply] = {}

    # ---- scripting helpers ----
    def reset(self) -> None:
        """Forget every page, request and scripted failure (one served instance per module)."""
        self.__init__(next(iter(self.tokens)))  # type: ignore[misc]

    def add(self, community: Community) -> Community:
        self.communities[community.id] = community
        return community

    @staticmethod
    def error(code: int, params: dict[str, str] | None = None,
              headers: dict[str, str] | None = None) -> Reply:
        request_params = [{"key": "oauth", "value": "1"}]
        request_params += [{"key": k, "value": v} for k, v in (params or {}).items()
                           if k != "access_token"]
        body = {"error": {"error_code": code, "error_msg": ERROR_MESSAGES.get(code, "Error"),
                          "request_params": request_params}}
        return Reply(200, body, headers or {})

    def calls(self, method: str) -> list[dict[str, str]]:
        """The queries of every recorded request to one method."""
        return [q for path, q, _ in self.requests if path.rsplit("/", 1)[-1] == method]

    # ---- the API ----
    def handle(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        scripted = self.at_call.pop(len(self.requests) + 1, None)
        if scripted is not None:
            self.requests.append((path, query, headers))
            return scripted
        return super().handle(path, query, headers)

    def route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        method = path.rsplit("/", 1)[-1]
        params = {"method": method, **query}
        if not query.get("v"):
            return self.error(8, params)
        token = query.get("access_token") or _bearer(headers)
        if token not in self.tokens or token in self.expired:
            return self.error(5, params)
        handler = {
            "groups.getById": self._groups_get_by_id,
            "wall.get": self._wall_get,
            "newsfeed.search": self._newsfeed_search,
        }.get(method)
        if handler is None:
            return Reply(200, {"error": {"error_code": 3, "error_msg": "Unknown method passed",
                                         "request_params": []}})
        return handler(query, params)

    def _groups_get_by_id(self, query: dict[str, str], params: dict[str, str]) -> Reply:
        fields = set(query.get("fields", "").split(","))
        groups = []
        for key in filter(None, query.get("group_ids", query.get("group_id", "")).split(",")):
            community = self._find(key)
            if community is None and not key.isdigit():
                return self.error(100, params)  # an unknown screen name
            groups.append(self._group_object(community, int(key) if community is None else 0,
                                             fields))
        return Reply(200, {"response": {"groups": groups, "profiles": []}})

    def _find(self, key: str) -> Community | None:
        if key.isdigit():
            return self.communities.get(int(key))
        return next((c for c in self.communities.values() if c.screen_name == key), None)

    @staticmethod
    def _group_object(community: Community | None, unknown_id: int,
                      fields: set[str]) -> dict[str, Any]:
        if community is None:  # VK answers an unknown numeric id with a deleted stub
            return {"id": unknown_id, "name": "DELETED", "screen_name": f"club{unknown_id}",
                    "is_closed": 0, "type": "group", "deactivated": "deleted"}
        group: dict[str, Any] = {
            "id": community.id, "name": community.name, "screen_name": community.screen_name,
            "is_closed": community.is_closed, "type": "page",
            "photo_50": "https://example.invalid/50.jpg",
            "photo_100": "https://example.invalid/100.jpg",
            "photo_200": "https://example.invalid/200.jpg",
        }
        if community.deactivated:
            group["deactivated"] = community.deactivated
        elif "members_count" in fields and community.members_count is not None:
            group["members_count"] = community.members_count
        return group

    def _wall_get(self, query: dict[str, str], params: dict[str, str]) -> Reply:
        owner = int(query.get("owner_id", "0"))
        community = self.communities.get(-owner)
        count, offset = int(query.get("count", "20")), int(query.get("offset", "0"))
        if community is None or count > 100 or offset < 0:
            return self.error(100, params)
        if community.deactivated:
            return self.error(15 if community.deactivated == "banned" else 18, params)
        if community.is_closed:
            return self.error(30, params)
        items = community.posts[offset:offset + count]
        return Reply(200, {"response": {"count": len(community.posts), "items": items}})

    def _newsfeed_search(self, query: dict[str, str], params: dict[str, str]) -> Reply:
        words = query.get("q", "").casefold()
        start = int(query.get("start_time", "0"))
        end = int(query["end_time"]) if "end_time" in query else 2**40
        found = [p for p in self.search_posts
                 if words in p.get("text", "").casefold() and start <= p["date"] <= end]
        offset = int(query.get("start_from", "0/").split("/", 1)[0] or 0)
        size = self.search_page_size or min(int(query.get("count", "30")), 200)
        items = found[offset:offset + size]
        body: dict[str, Any] = {"items": items, "count": len(found), "total_count": len(found)}
        if offset + size < len(found):
            last = items[-1]
            body["next_from"] = f"{offset + size}/{last['owner_id']}_{last['id']}"
        if query.get("extended") == "1":
            body.update(self._authors(items, set(query.get("fields", "").split(","))))
        return Reply(200, {"response": body})

    def _authors(self, items: list[dict[str, Any]], fields: set[str]) -> dict[str, Any]:
        profiles, groups = [], []
        for author in sorted({p["from_id"] for p in items}):
            if author < 0 and -author in self.communities:
                groups.append(self._group_object(self.communities[-author], 0, fields))
            elif author > 0 and author in self.profiles:
                profile = dict(self.profiles[author])
                if "followers_count" not in fields:
                    profile.pop("followers_count", None)
                profiles.append(profile)
        return {"profiles": profiles, "groups": groups}


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("Authorization") or headers.get("authorization") or ""
    return value[7:] if value.startswith("Bearer ") else None
