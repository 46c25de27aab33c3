"""X accounts through the X API v2 (research/platforms.md §7).

Followers come from the users lookup (`public_metrics.followers_count`); posts from the user's
timeline (`users/:id/tweets`, newest first, `meta.next_token` → `pagination_token`), limited to
the week by `start_time`/`end_time`. Errors use real statuses with problem JSON, except a
missing, suspended or protected account: HTTP 200 with only `errors[]`. A 429 carries
`x-rate-limit-reset` (epoch seconds), which the shared client waits for. The app token goes in
an `Authorization: Bearer` header (the shared default).
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

USER_BY_NAME = "users/by/username/:username"
USER_BY_ID = "users/:id"
TIMELINE = "users/:id/tweets"
USER_FIELDS = "created_at,public_metrics"
TWEET_FIELDS = "created_at,public_metrics"
PAGE_SIZE = 100  # max_results is 5..100

# 200 + errors[] without data: the account is missing, suspended or protected
GONE_TYPES = ("resource-not-found", "not-authorized-for-resource", "resource-unavailable")
GONE_TITLES = {"Not Found Error", "Forbidden", "Authorization Error", "Resource Unavailable"}


class Client(PlatformClient):
    platform = "x"
    default_url = "https://api.x.com/2"
    max_wait_seconds = 900.0  # rate-limit windows are 15 minutes

    def classify(self, response: requests.Response, body: Any) -> Verdict:
        status = response.status_code
        if status < 400:
            if not isinstance(body, dict):
                return Verdict(TRANSIENT, f"HTTP {status}: not a JSON object")
            if body.get("errors") and "data" not in body and "meta" not in body:
                return missing_account(body["errors"])
            return Verdict(OK)
        message = f"HTTP {status}: {problem_text(body)}"
        if status == 429 or 88 in error_codes(body):  # 88: the legacy "Rate limit exceeded"
            return Verdict(RATE_LIMITED, message, retry_after(response))
        if status in (401, 403):
            return Verdict(AUTH, message)  # bad token, or an app without a project/tier
        if status in (404, 410):
            return Verdict(GONE, message)
        if status >= 500:
            return Verdict(TRANSIENT, message, retry_after(response))
        return Verdict(FATAL, message)


def missing_account(errors: list[Any]) -> Verdict:
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    text = f"{first.get('title', 'error')}: {first.get('detail', '')}".strip(": ")
    kind = str(first.get("type", ""))
    if kind.endswith(GONE_TYPES) or first.get("title") in GONE_TITLES:
        return Verdict(GONE, text)
    return Verdict(FATAL, text)


def problem_text(body: Any) -> str:
    """title/detail of a problem body, or the messages of a legacy errors[] body."""
    if not isinstance(body, dict):
        return "no JSON body"
    parts = [str(body[k]) for k in ("title", "detail", "reason") if body.get(k)]
    parts += [str(e.get("message")) for e in body.get("errors") or []
              if isinstance(e, dict) and e.get("message")]
    return "; ".join(parts)[:300] or "error"


def error_codes(body: Any) -> set[Any]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return {e.get("code") for e in errors or [] if isinstance(e, dict)}


def user_lookup(platform_page_id: str) -> tuple[str, str, dict[str, Any]]:
    """(endpoint, path, request record) for a numeric id or a @handle."""
    ref = platform_page_id.strip().removeprefix("@")
    if ref.isdigit():
        return USER_BY_ID, f"users/{ref}", {"id": ref}
    return USER_BY_NAME, f"users/by/username/{ref}", {"username": ref}


def fetch_page(client: Client, page: Page, period: Period) -> Iterator[Capture]:
    """The account (followers), then its timeline pages for the week."""
    endpoint, path, record = user_lookup(page.platform_page_id)
    params: dict[str, Any] = {"user.fields": USER_FIELDS}
    body = client.get_json(path, params, page=page.page_id)
    user = body.get("data")
    if not isinstance(user, dict) or not user.get("id"):
        raise PageUnavailable(f"x {endpoint}: no account {page.platform_page_id!r} "
                              f"(page {page.page_id})")
    yield Capture(endpoint, body, {**record, **params}, page)
    yield from _timeline(client, page, period, str(user["id"]))


def _timeline(client: Client, page: Page, period: Period, user_id: str) -> Iterator[Capture]:
    token = None
    while True:
        # Retweets are left out: their public_metrics are the original post's, not the page's.
        params: dict[str, Any] = {"max_results": PAGE_SIZE, "tweet.fields": TWEET_FIELDS,
                                  "exclude": "retweets", "start_time": _iso(period.start_at),
                                  "end_time": _iso(period.end_at)}
        if token:
            params["pagination_token"] = token
        body = client.get_json(f"users/{user_id}/tweets", params, page=page.page_id)
        yield Capture(TIMELINE, body, {"id": user_id, **params}, page)
        # an empty page is {"meta": {"result_count": 0}} with no `data`: follow next_token
        dates = [d for d in (_instant(p.get("created_at")) for p in body.get("data") or [])
                 if d is not None]
        token = (body.get("meta") or {}).get("next_token")
        if not token or (dates and min(dates) < period.start_at):
            return


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
