"""An Odnoklassniki REST API imitation (research/platforms.md §2): `/fb.do?method=…` (and
`/api/<group>/<method>`), every request's `sig` checked by the §2.1 algorithm (error 104 on a
mismatch), errors as HTTP 200 bodies `{"error_code", "error_msg": "NAME : text", "error_data"}`,
ids as strings, timestamps in epoch milliseconds.

Script failures with `failures` (served first) or `at_call` (the reply for the n-th request).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from ingestion.connectors.ok import signature
from tests.platform_servers import FixtureServer, Reply

ERRORS = {
    1: "UNKNOWN : Unknown error",
    2: "SERVICE : Service temporarily unavailable",
    8: "FLOOD_BLOCKED : Flood blocked",
    11: "LIMIT_REACHED : Method call limit reached",
    100: "PARAM : Missing required parameter",
    101: "PARAM_API_KEY : Application key is invalid",
    102: "PARAM_SESSION_EXPIRED : Session expired",
    103: "PARAM_SESSION_KEY : Invalid session key",
    104: "PARAM_SIGNATURE : Invalid signature",
    160: "PARAM_GROUP_ID : Invalid group id",
    300: "NOT_FOUND : Group not found",
    3: "METHOD : Method does not exist",
}


@dataclass
class Group:
    uid: str
    name: str = "Акимат"
    members_count: int | None = 1000  # None: the field is left out
    deleted: bool = False  # group.getInfo finds nothing, stream.get answers 300
    topics: list[dict[str, Any]] = field(default_factory=list)  # newest first


def topic(gid: str, topic_id: str, created_ms: int, *, likes: int = 1,
          comments: int | None = 0, reshares: int = 0, views: int | None = 10,
          text: str = "") -> dict[str, Any]:
    """A media_topic as OK sends it; None leaves the counter's object out."""
    item: dict[str, Any] = {
        "id": topic_id, "created_ms": created_ms,
        "media": [{"type": "text", "text": text}],
        "like_summary": {"count": likes, "self": False},
        "reshare_summary": {"count": reshares, "self": False},
        "author_ref": f"group:{gid}", "owner_ref": f"group:{gid}",
        "ref": f"media_topic:{topic_id}",
    }
    if comments is not None:
        item["discussion_summary"] = {"comments_count": comments}
    if views is not None:
        item["views_count"] = views
    return item


class OkServer(FixtureServer):
    def __init__(self, application_key: str = "CBAAPPKEY", secret_key: str = "SECRET123",
                 access_token: str = "ok-access-token") -> None:
        super().__init__()
        self.application_key, self.secret_key = application_key, secret_key
        self.tokens = {access_token}
        self.expired: set[str] = set()
        self.groups: dict[str, Group] = {}
        self.page_size = 3
        self.empty_pages: set[int] = set()  # page numbers (from 1) served with no topics
        self.wrap_groups = False  # group.getInfo as {"groups": [...]} instead of an array
        self.at_call: dict[int, Reply] = {}

    @property
    def token(self) -> str:
        """The GOVPULSE_OK_TOKEN that this server accepts."""
        return f"{self.application_key}:{self.secret_key}:{next(iter(self.tokens))}"

    def reset(self) -> None:
        """Forget every group, request and scripted failure (one served instance per module)."""
        self.__init__(self.application_key, self.secret_key,  # type: ignore[misc]
                      next(iter(self.tokens)))

    def add(self, group: Group) -> Group:
        self.groups[group.uid] = group
        return group

    @staticmethod
    def error(code: int, headers: dict[str, str] | None = None) -> Reply:
        return Reply(200, {"error_code": code, "error_msg": ERRORS.get(code, "ERROR : error"),
                           "error_data": None}, headers or {})

    def calls(self, method: str) -> list[dict[str, str]]:
        return [q for _, q, _ in self.requests if q.get("method") == method]

    def handle(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if path.startswith("/api/"):  # /api/group/getInfo is method=group.getInfo
            query = {**query, "method": ".".join(path.split("/")[2:4])}
        scripted = self.at_call.pop(len(self.requests) + 1, None)
        if scripted is not None:
            self.requests.append((path, query, headers))
            return scripted
        return super().handle(path, query, headers)

    def route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if query.get("application_key") != self.application_key:
            return self.error(101)
        token = query.get("access_token") or query.get("session_key") or ""
        if query.get("sig") != signature(query, token, self.secret_key):
            return self.error(104)
        if token in self.expired:
            return self.error(102)
        if token not in self.tokens:
            return self.error(103)
        handler = {"group.getInfo": self._get_info, "stream.get": self._stream}.get(
            query.get("method", ""))
        return handler(query) if handler else self.error(3)

    def _get_info(self, query: dict[str, str]) -> Reply:
        if not query.get("uids") or not query.get("fields"):
            return self.error(100)
        fields = {f.strip().lower() for f in query["fields"].split(",")}
        found = []
        for uid in query["uids"].split(","):
            group = self.groups.get(uid)
            if group is None or group.deleted:
                continue
            item: dict[str, Any] = {"uid": group.uid}
            if "name" in fields:
                item["name"] = group.name
            if "members_count" in fields and group.members_count is not None:
                item["members_count"] = group.members_count
            found.append(item)
        return Reply(200, {"groups": found} if self.wrap_groups else found)

    def _stream(self, query: dict[str, str]) -> Reply:
        group = self.groups.get(query.get("gid", ""))
        if group is None:
            return self.error(160)
        if group.deleted:
            return self.error(300)
        number = _decode(query["anchor"]) if query.get("anchor") else 1
        offset = sum(0 if n in self.empty_pages else self.page_size for n in range(1, number))
        topics = [] if number in self.empty_pages else \
            group.topics[offset:offset + self.page_size]
        has_more = offset + len(topics) < len(group.topics)
        body: dict[str, Any] = {
            "feeds": [{"pattern": "POST", "date_ms": t["created_ms"],
                       "target_refs": [t["ref"]], "actor_refs": [f"group:{group.uid}"]}
                      for t in topics],
            "entities": {"media_topics": topics,
                         "groups": [{"uid": group.uid, "name": group.name}]},
            "has_more": has_more,
        }
        if has_more:
            body["anchor"] = _encode(number + 1)
        return Reply(200, body)


def _encode(number: int) -> str:
    return base64.b64encode(f"page:{number}".encode()).decode()


def _decode(anchor: str) -> int:
    return int(base64.b64decode(anchor).decode().split(":")[1])
