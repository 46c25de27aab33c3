"""VK API 5.199: community subscribers (groups.getById), wall posts (wall.get) and mention search
(newsfeed.search). See research/platforms.md §1.

VK answers errors inside HTTP 200 bodies (`{"error": {"error_code": N, ...}}`), so `classify()`
reads the body first and the status only when there is no VK error in it.
"""

from __future__ import annotations

from collections.abc import Iterator
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

VERSION = "5.199"
WALL_PAGE_SIZE = 100  # wall.get's maximum `count`
SEARCH_PAGE_SIZE = 200  # newsfeed.search's maximum `count`

# error_code -> outcome (platforms.md §1.5). 29 is a per-method *daily* quota: waiting inside
# one fetch cannot help, so it stops the platform with a clear message instead of retrying.
ERROR_OUTCOMES = {
    1: TRANSIENT, 10: TRANSIENT,
    5: AUTH, 27: AUTH, 28: AUTH,
    6: RATE_LIMITED, 9: RATE_LIMITED,
    15: GONE, 18: GONE, 30: GONE, 100: GONE, 113: GONE, 203: GONE,
}
DAILY_QUOTA = 29


class Client(PlatformClient):
    platform = "vk"
    default_url = "https://api.vk.com/method"

    def authorize(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        # VK accepts the token as a Bearer header: it then never appears in a URL or a log line.
        headers["Authorization"] = f"Bearer {self.settings.token}"

    def classify(self, response: requests.Response, body: Any) -> Verdict:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            if response.status_code != 200:
                return super().classify(response, body)
            if not isinstance(body, dict) or "response" not in body:
                return Verdict(TRANSIENT, "HTTP 200 without a VK response body")
            return Verdict(OK)
        code = _int(error.get("error_code"))
        message = f"VK error {code}: {error.get('error_msg', '')}".strip()
        if code == DAILY_QUOTA:
            return Verdict(FATAL, f"{message} (the method's daily quota is spent; fetch again "
                                  "tomorrow)")
        outcome = ERROR_OUTCOMES.get(code, FATAL)
        wait = retry_after(response) if outcome == RATE_LIMITED else None
        return Verdict(outcome, message, wait)


def call(client: Client, method: str, params: dict[str, Any], page: Page | None) -> Capture:
    """One API call as a Capture (the request recorded as sent, `v` included, never the token)."""
    request = {**params, "v": VERSION}
    body = client.get_json(method, request, page=page.page_id if page else None)
    return Capture(endpoint=method, response=body, request=request, page=page)


def fetch_page(client: Client, page: Page, period: Period) -> Iterator[Capture]:
    """The community's snapshot, then wall.get pages back to the start of the period."""
    snapshot = call(client, "groups.getById",
                    {"group_ids": page.platform_page_id.lstrip("-"), "fields": "members_count"},
                    page)
    group = _community(snapshot, page)
    yield snapshot
    yield from _wall(client, page, -int(group["id"]), period)


def _community(capture: Capture, page: Page) -> dict[str, Any]:
    """The community object, or PageUnavailable for a missing, deleted or banned one."""
    response = capture.response.get("response")
    # 5.199 answers {"groups": [...], "profiles": [...]}; before 5.194 a bare list
    groups = response.get("groups") if isinstance(response, dict) else response
    if not groups:
        raise PageUnavailable(f"vk groups.getById: no community {page.platform_page_id} "
                              f"(page {page.page_id})")
    group = groups[0]
    if group.get("deactivated"):  # VK's own word: "deleted" or "banned"
        raise PageUnavailable(f"vk groups.getById: community {page.platform_page_id} has "
                              f"deactivated: \"{group['deactivated']}\" (page {page.page_id})")
    return group


def _wall(client: Client, page: Page, owner_id: int, period: Period) -> Iterator[Capture]:
    """Offset paging (offset += count until offset >= response.count) that stops once a
    non-pinned post is older than the period: the pinned post comes first whatever its date."""
    start = period.start_at.timestamp()
    offset = 0
    while True:
        capture = call(client, "wall.get", {"owner_id": owner_id, "offset": offset,
                                            "count": WALL_PAGE_SIZE, "filter": "owner"}, page)
        yield capture
        response = capture.response["response"]
        items = response.get("items") or []
        offset += WALL_PAGE_SIZE
        older = [p for p in items if not p.get("is_pinned") and _int(p.get("date")) < start]
        if not items or older or offset >= _int(response.get("count")):
            return


def fetch_mentions(client: Client, aliases: list[tuple[str, str]],
                   period: Period) -> Iterator[Capture]:
    """newsfeed.search for every distinct alias ((entity_id, alias) pairs) within the period,
    following `next_from` until it is absent. VK serves at most 1000 results per query."""
    seen: set[str] = set()
    for _entity_id, alias in aliases:
        query = alias.strip()
        if not query or query.casefold() in seen:
            continue
        seen.add(query.casefold())
        yield from _search(client, query, period)


def _search(client: Client, query: str, period: Period) -> Iterator[Capture]:
    params: dict[str, Any] = {
        "q": query,
        "start_time": int(period.start_at.timestamp()),
        "end_time": int(period.end_at.timestamp()) - 1,  # the period's end is exclusive
        "count": SEARCH_PAGE_SIZE,
        "extended": 1,  # profiles and groups give each author's audience
        "fields": "members_count,followers_count",
    }
    cursors: set[str] = set()
    while True:
        capture = call(client, "newsfeed.search", params, None)
        yield capture
        cursor = capture.response["response"].get("next_from")
        if not cursor or cursor in cursors:  # a repeated cursor would loop forever
            return
        cursors.add(cursor)
        params = {**params, "start_from": cursor}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
