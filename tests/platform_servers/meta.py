"""What the Instagram and Facebook fixture servers share: the Meta Graph API's conventions.

- `/v25.0/<object>[/<edge>]` with the token in `access_token` (a wrong one gives 190, an
  expired one 190/463);
- error bodies `{"error": {"message", "type", "code", "error_subcode", "is_transient",
  "fbtrace_id"}}` on HTTP 400/403/500 (platforms.md §5.5);
- `X-App-Usage` and `X-Business-Use-Case-Usage` headers on every answer;
- cursor paging with `paging.cursors.before/after` and an absolute `paging.next` URL that
  carries every query parameter, the token included, as the real API does;
- field expansion (`media.after(X).limit(25){id,timestamp}`) parsed by `parse_field`.

`fail_at` scripts the reply to the n-th request (1-based), e.g. a rate limit mid-way.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tests.platform_servers import FixtureServer, Reply

VERSION = "v25.0"

THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try "
           "again. For more info, please refer to "
           "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    80002: "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
           "try again. For more info, please refer to "
           "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}


# ---- error replies -------------------------------------------------------------------------
def graph_error(code: int, message: str, *, subcode: int | None = None,
                type_: str = "OAuthException", status: int = 400,
                is_transient: bool | None = None, headers: dict[str, str] | None = None,
                **extra: Any) -> Reply:
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    error.update(extra)
    error["fbtrace_id"] = "AbCdEfGhIjK"
    return Reply(status, {"error": error}, dict(headers or {}))


def throttled(code: int = 4, *, minutes: int = 0, retry_after: int | None = None,
              buc_type: str = "pages", status: int = 400) -> Reply:
    """A rate-limit answer with the usage headers Meta sends with it."""
    headers = {
        "X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 41, "total_time": 57}),
        "X-Business-Use-Case-Usage": json.dumps({"1234567890": [{
            "type": buc_type, "call_count": 100, "total_cputime": 20, "total_time": 30,
            "estimated_time_to_regain_access": minutes,
        }]}),
    }
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return graph_error(code, THROTTLE_MESSAGES.get(code, f"(#{code}) Rate limited"),
                       status=status, is_transient=code == 4, headers=headers)


def expired_token() -> Reply:
    return graph_error(190, "Error validating access token: Session has expired on Friday, "
                            "20-Nov-26 03:00:00 PST. The current time is Friday, 20-Nov-26 "
                            "04:12:31 PST.", subcode=463,
                       error_user_title="Session expired", error_user_msg="Log in again.")


def invalid_token() -> Reply:
    return graph_error(190, "Invalid OAuth access token - Cannot parse access token")


def not_found(object_id: str) -> Reply:
    return graph_error(
        100, f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
             "loaded due to missing permissions, or does not support this operation. Please "
             "read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33, type_="GraphMethodException")


def alias_missing(alias: str) -> Reply:
    return graph_error(803, f"(#803) Some of the aliases you requested do not exist: {alias}")


def transient() -> Reply:
    return graph_error(2, "An unexpected error has occurred. Please retry your request later.",
                       status=500, is_transient=True)


def unknown_field(name: str) -> Reply:
    return graph_error(100, f"(#100) Tried accessing nonexisting field ({name}) on node type "
                            "(User)")


# ---- field expansion -----------------------------------------------------------------------
def split_fields(text: str) -> list[str]:
    """Top-level comma-separated field expressions (commas inside () or {} do not split)."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_field(expr: str) -> tuple[str, dict[str, str], str | None]:
    """`media.after(X).limit(25){id,timestamp}` -> ("media", {after, limit}, "id,timestamp")."""
    head, sub = expr, None
    if "{" in expr:
        brace = expr.index("{")
        head, sub = expr[:brace], expr[brace + 1:expr.rindex("}")]
    name = head.split(".", 1)[0]
    modifiers = dict(re.findall(r"\.(\w+)\(([^)]*)\)", head[len(name):]))
    return name, modifiers, sub


def graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"cursor:{offset}".encode()).decode()


def offset_of(value: str | None) -> int:
    if not value:
        return 0
    return int(base64.urlsafe_b64decode(value.encode()).decode().split(":")[1])


class MetaServer(FixtureServer):
    """Subclasses implement `get(parts, query, base_url)` for `/v25.0/<parts…>`."""

    buc_type = "pages"

    def __init__(self, token: str = "meta-test-token") -> None:
        super().__init__()
        self.token = token
        self.token_state = "valid"  # valid | expired
        self.fail_at: dict[int, Reply] = {}  # n-th request (1-based) -> scripted reply
        self.page_size = 3  # the server caps `limit`, as Graph does for heavy fields

    def handle(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        self.requests.append((path, query, headers))
        scripted = self.fail_at.pop(len(self.requests), None)
        if scripted is not None:
            return scripted
        if self.failures:
            return self.failures.pop(0)
        return self.route(path, query, headers)

    def route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        parts = path.strip("/").split("/")
        if parts[0] != VERSION or len(parts) < 2:
            return graph_error(2500, f"Unknown path components: {path}")
        if query.get("access_token") != self.token:
            return invalid_token()
        if self.token_state == "expired":
            return expired_token()
        base_url = f"http://{headers.get('Host', '127.0.0.1')}/{VERSION}"
        reply = self.get(parts[1:], query, base_url)
        reply.headers.setdefault("X-App-Usage", json.dumps(
            {"call_count": 3, "total_cputime": 1, "total_time": 2}))
        reply.headers.setdefault("X-Business-Use-Case-Usage", json.dumps({"1234567890": [{
            "type": self.buc_type, "call_count": 2, "total_cputime": 1, "total_time": 1,
            "estimated_time_to_regain_access": 0}]}))
        return reply

    def get(self, parts: list[str], query: dict[str, str], base_url: str) -> Reply:
        raise NotImplementedError

    def edge_page(self, items: list[Any], query: dict[str, str], url: str,
                  render: Callable[[Any], dict[str, Any] | None]) -> dict[str, Any]:
        """One cursor page of an edge; `render` returning None drops an item after the window
        was cut, which is how Graph produces empty pages that still have `next`."""
        limit = min(int(query.get("limit", 25)), self.page_size)
        offset = offset_of(query.get("after"))
        window = items[offset:offset + limit]
        data = [row for row in map(render, window) if row is not None]
        body: dict[str, Any] = {"data": data}
        if not window:
            return body
        paging: dict[str, Any] = {
            "cursors": {"before": cursor(offset), "after": cursor(offset + len(window))}
        }
        if offset + limit < len(items):
            following = {k: v for k, v in query.items() if k != "before"}
            paging["next"] = f"{url}?{urlencode({**following, 'after': cursor(offset + limit)})}"
        if offset > 0:
            before = {k: v for k, v in query.items() if k != "after"}
            paging["previous"] = f"{url}?{urlencode({**before, 'before': cursor(offset)})}"
        body["paging"] = paging
        return body
