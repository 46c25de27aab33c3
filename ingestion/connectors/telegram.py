"""Telegram channels through the TGStat API (research/platforms.md §3A).

TGStat reports errors as `{"status": "error", "error": "<code>"}`, usually with HTTP 200, so
the body is read before the status. Subscribers come from `channels/get`; posts from
`channels/posts`, newest first, at most 50 a call and `offset` at most 1000 — past that the
window's `endTime` slides back to the oldest post seen and the offset starts again at 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import requests

from ingestion.connectors.base import (
    AUTH,
    FATAL,
    GONE,
    OK,
    PAGE_REFUSED,
    RATE_LIMITED,
    TRANSIENT,
    PlatformClient,
    Verdict,
    retry_after,
)
from ingestion.connectors.native import Capture, Page, Period

CHANNEL_ENDPOINT = "channels/get"
POSTS_ENDPOINT = "channels/posts"
POSTS_LIMIT = 50  # the API's maximum
MAX_OFFSET = 1000  # the API's maximum

AUTH_CODES = {"empty_token", "token_invalid", "no_active_subscription"}
TRANSIENT_CODES = {"unknown_error", "outdated_statistics"}
# This channel cannot be queried under the tariff, the others still can: skip the page.
CHANNEL_QUOTA_CODES = {"quota_channel_reached", "quota_foreign_channel"}
# The unknown-channel code is not documented [unverified]: these spellings, and any code
# saying "not_found", count as a missing channel.
GONE_CODES = {"channel_not_found", "not_found", "channel_invalid", "channel_private",
              "wrong_channel", "channel_deleted"}
FLOOD = re.compile(r"flood_control_(\d+)")


class Client(PlatformClient):
    platform = "telegram"
    default_url = "https://api.tgstat.ru"

    def authorize(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        params["token"] = self.settings.token  # TGStat takes the token as a query parameter

    def classify(self, response: requests.Response, body: Any) -> Verdict:
        if isinstance(body, dict) and body.get("status") == "error":
            return error_verdict(str(body.get("error") or ""), response)
        if response.status_code >= 400:
            return super().classify(response, body)
        if not isinstance(body, dict):
            return Verdict(TRANSIENT, f"HTTP {response.status_code}: not a JSON object")
        return Verdict(OK)


def error_verdict(code: str, response: requests.Response) -> Verdict:
    """Sort a TGStat error code into the shared outcomes."""
    message = f"TGStat error {code or '(empty)'}"
    if flood := FLOOD.fullmatch(code):
        # flood_control_N: N is the window in seconds; a Retry-After header, if any, wins
        asked = retry_after(response)
        return Verdict(RATE_LIMITED, message, asked if asked is not None else float(flood[1]))
    if code in AUTH_CODES:
        return Verdict(AUTH, message)
    if code in TRANSIENT_CODES:
        return Verdict(TRANSIENT, message)
    if code in CHANNEL_QUOTA_CODES:
        return Verdict(PAGE_REFUSED, f"{message}: the TGStat tariff does not cover this channel")
    if code in GONE_CODES or "not_found" in code:
        return Verdict(GONE, f"{message}: channel deleted, private or unknown")
    if code.startswith("quota_"):
        return Verdict(FATAL, f"{message}: the tariff's 30-day quota is spent (see /usage/stat)")
    return Verdict(FATAL, message)


def channel_ref(platform_page_id: str) -> str:
    """The registry keeps bare usernames; TGStat wants @username, t.me/… or its numeric id."""
    ref = platform_page_id.strip().removeprefix("https://").removeprefix("http://")
    if ref.startswith(("@", "t.me/")) or ref.isdigit():
        return ref
    return "@" + ref


def fetch_page(client: Client, page: Page, period: Period) -> Iterator[Capture]:
    """The channel card, then every posts page that reaches into the week."""
    channel_id = channel_ref(page.platform_page_id)
    params: dict[str, Any] = {"channelId": channel_id}
    body = client.get_json(CHANNEL_ENDPOINT, params, page=page.page_id)
    yield Capture(CHANNEL_ENDPOINT, body, dict(params), page)
    yield from _posts(client, page, period, channel_id)


def _posts(client: Client, page: Page, period: Period, channel_id: str) -> Iterator[Capture]:
    start = int(period.start_at.timestamp())
    window_end, offset = int(period.end_at.timestamp()), 0
    while True:
        params: dict[str, Any] = {"channelId": channel_id, "startTime": start,
                                  "endTime": window_end, "limit": POSTS_LIMIT, "offset": offset}
        body = client.get_json(POSTS_ENDPOINT, params, page=page.page_id)
        yield Capture(POSTS_ENDPOINT, body, dict(params), page)
        response = body.get("response") or {}
        items = response.get("items") or []
        dates = [d for d in (post_date(item) for item in items) if d is not None]
        # A short page is the last one (we never ask to hide deleted posts or forwards, so
        # the API filters nothing after paging); an old post means the week is covered.
        if len(items) < POSTS_LIMIT or not dates or min(dates) < start:
            return
        if _count(response.get("total_count")) <= offset + len(items):
            return
        offset += POSTS_LIMIT
        if offset > MAX_OFFSET:
            # slide the window back (the oldest post may come twice; staging keeps both
            # copies as two captures of the same post)
            window_end = min(dates) if min(dates) < window_end else window_end - 1
            offset = 0


def post_date(item: Any) -> int | None:
    """A post's `date` (Unix seconds, a number or a numeric string)."""
    value = item.get("date") if isinstance(item, dict) else None
    try:
        return int(float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _count(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("inf")  # unknown total: rely on the other stop rules
