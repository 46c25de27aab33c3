"""What the Instagram and Facebook connectors share: the Meta Graph API (platforms.md §5.5, §6).

Graph errors arrive as HTTP 400/403/500 with `{"error": {"message", "type", "code",
"error_subcode", "is_transient", "fbtrace_id"}}`; the HTTP status says little (throttling comes
as 400 or 403), so the body's `error.code` decides. How long to wait is only stated in the
`X-Business-Use-Case-Usage` header (`estimated_time_to_regain_access`, minutes).

Paging follows `paging.next` until it is absent: the URL is opaque, so its query (cursors,
`until`/`since`) is replayed against our base URL, without its `access_token`. Empty pages
can still carry `next` and do not end the chain.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from ingestion.connectors.base import (
    AUTH,
    FATAL,
    GONE,
    OK,
    RATE_LIMITED,
    TRANSIENT,
    PlatformClient,
    Verdict,
    retry_after,
)
from ingestion.connectors.native import Capture, Page

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.facebook.com/v25.0"  # pinned version (platforms.md §5)

RATE_LIMIT_CODES = {4, 17, 32, 613, 80001, 80002, 368}  # 368: temporary policy block, back off
AUTH_CODES = {190, 102}
TRANSIENT_CODES = {1, 2}
GONE_CODES = {803}  # "Some of the aliases you requested do not exist"
GONE_PAIRS = {(100, 33)}  # "Object with ID ... does not exist"
GONE_SUBCODES = {2207013}  # business_discovery: user cannot be found / not professional
USAGE_WARN_PERCENT = 90


class MetaClient(PlatformClient):
    """A Graph API client: token as `access_token`, errors classified by `error.code`."""

    default_url = GRAPH_URL
    max_wait_seconds = 3600.0  # business-use-case limits ask for minutes to an hour
    gone_codes: frozenset[int] = frozenset()  # extra "not found" codes of one platform

    def authorize(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        params["access_token"] = self.settings.token

    def classify(self, response: requests.Response, body: Any) -> Verdict:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return self._classify_error(response, error)
        if response.status_code >= 400:  # no Graph error body (a proxy, an outage): by status
            return super().classify(response, body)
        if not isinstance(body, dict):
            return Verdict(TRANSIENT, f"HTTP {response.status_code} without a JSON object")
        _warn_on_usage(self.platform, response.headers)
        return Verdict(OK)

    def _classify_error(self, response: requests.Response, error: dict[str, Any]) -> Verdict:
        code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
        message = describe_error(response.status_code, error)
        if code in AUTH_CODES:
            return Verdict(AUTH, message)
        if code in RATE_LIMIT_CODES:
            return Verdict(RATE_LIMITED, message, wait_seconds(response.headers))
        if (code in GONE_CODES or code in self.gone_codes or (code, subcode) in GONE_PAIRS
                or subcode in GONE_SUBCODES):
            return Verdict(GONE, message)
        if code in TRANSIENT_CODES or error.get("is_transient") is True:
            return Verdict(TRANSIENT, message, retry_after(response))
        return Verdict(FATAL, message)


def describe_error(status: int, error: dict[str, Any]) -> str:
    """One line for logs and reports: what Meta said, with the trace id support asks for."""
    code, subcode = error.get("code"), error.get("error_subcode")
    text = f"HTTP {status} Graph error {code}"
    if subcode is not None:
        text += f"/{subcode}"
    text += f" ({error.get('type', '?')}): {error.get('message', '')}"
    if error.get("fbtrace_id"):
        text += f" [fbtrace_id {error['fbtrace_id']}]"
    return text


def wait_seconds(headers: Any) -> float | None:
    """The wait Meta states: Retry-After if sent, else the largest
    `estimated_time_to_regain_access` (minutes) of X-Business-Use-Case-Usage; None = back off."""
    stated = [s for s in (_header_retry_after(headers), _buc_wait(headers)) if s]
    return max(stated) if stated else None


def _header_retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    return float(value) if value and value.strip().isdigit() else None


def _buc_wait(headers: Any) -> float | None:
    minutes = [_int(entry.get("estimated_time_to_regain_access")) or 0
               for entry in _buc_entries(headers)]
    return max(minutes) * 60.0 if minutes and max(minutes) > 0 else None


def _buc_entries(headers: Any) -> list[dict[str, Any]]:
    """X-Business-Use-Case-Usage: {"<business id>": [{"type", "call_count", …}, …]}."""
    parsed = _json_header(headers, "X-Business-Use-Case-Usage")
    if not isinstance(parsed, dict):
        return []
    return [entry for entries in parsed.values() if isinstance(entries, list)
            for entry in entries if isinstance(entry, dict)]


def usage_percent(headers: Any) -> int:
    """The highest usage share (%) in X-App-Usage and X-Business-Use-Case-Usage."""
    app = _json_header(headers, "X-App-Usage")
    entries = [app] if isinstance(app, dict) else []
    entries += _buc_entries(headers)
    keys = ("call_count", "total_cputime", "total_time")
    return max((_int(e.get(k)) or 0 for e in entries for k in keys), default=0)


def _warn_on_usage(platform: str, headers: Any) -> None:
    # Meta throttles at 100 %: say so before it happens, the next calls may start failing
    percent = usage_percent(headers)
    if percent >= USAGE_WARN_PERCENT:
        log.warning("%s: Graph API usage at %d%% of the limit", platform, percent)


def _json_header(headers: Any, name: str) -> Any:
    value = headers.get(name)
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---- responses and paging ------------------------------------------------------------------
def scrub(value: Any, token: str) -> Any:
    """The response without the token: Graph echoes it inside `paging.next`/`previous` URLs."""
    if isinstance(value, dict):
        return {key: scrub(item, token) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, token) for item in value]
    if isinstance(value, str):
        if "access_token=" in value:
            value = _drop_token_param(value)
        return value.replace(token, "***") if token else value
    return value


def _drop_token_param(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k != "access_token"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def next_query(paging: Any) -> dict[str, str] | None:
    """The query of `paging.next` without the token, or None at the end of the chain."""
    url = paging.get("next") if isinstance(paging, dict) else None
    if not url:
        return None
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    query.pop("access_token", None)
    return query


def parse_time(value: Any) -> datetime | None:
    """Graph timestamps are ISO-8601 with `+0000` (Python 3.11 parses it)."""
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def reached_older(items: list[Any], time_field: str, start_at: datetime) -> bool:
    """True when the page's last item is older than the period: the edges list newest first,
    so the following pages are all older (the first item may be pinned, the last is not)."""
    for item in reversed(items):
        published = parse_time(item.get(time_field)) if isinstance(item, dict) else None
        if published is not None:
            return published < start_at
    return False


def walk_edge(client: MetaClient, path: str, params: dict[str, Any], *, endpoint: str,
              page: Page, start_at: datetime, time_field: str) -> Iterator[Capture]:
    """Every page of one edge (`/{id}/posts`, `/{id}/media`) back to the period's start."""
    seen: set[tuple[tuple[str, str], ...]] = set()
    while True:
        body = client.get_json(path, params, page=page.page_id)
        yield Capture(endpoint, scrub(body, client.settings.token), dict(params), page)
        items = body.get("data") if isinstance(body.get("data"), list) else []
        following = next_query(body.get("paging"))
        if following is None or reached_older(items, time_field, start_at):
            return
        key = tuple(sorted(following.items()))
        if key in seen:  # a cursor that does not move would loop for ever
            log.warning("%s %s: paging cursor repeats; stopped", client.platform, path)
            return
        seen.add(key)
        params = {**params, **following}  # next carries the cursor; keep what it omits
