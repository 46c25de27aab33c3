"""Odnoklassniki (OK) REST API: group members (group.getInfo) and the group's posts with their
likes, comments and reshares (stream.get). See research/platforms.md §2.

Every call is signed (§2.1). OK needs three secrets, which travel as one token so that an
Airflow connection's password can hold them:
`GOVPULSE_OK_TOKEN=<application_key>:<application_secret_key>:<access_token>`.
Errors come inside HTTP 200 bodies (`{"error_code": N, "error_msg": "NAME : text"}`).
"""

from __future__ import annotations

import hashlib
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
    AuthError,
    ClientSettings,
    PageUnavailable,
    PlatformClient,
    Verdict,
    protect_logs,
    retry_after,
)
from ingestion.connectors.native import Capture, Page, Period

PATH = "fb.do"  # https://api.ok.ru/fb.do?method=<group.method>
TOKEN_FORMAT = "<application_key>:<application_secret_key>:<access_token>"

# error_code -> outcome (platforms.md §2.4). 10 and 200 are permissions the token lacks.
ERROR_OUTCOMES = {
    1: TRANSIENT, 2: TRANSIENT, 9999: TRANSIENT,
    7: RATE_LIMITED, 8: RATE_LIMITED, 9: RATE_LIMITED, 11: RATE_LIMITED,
    10: AUTH, 101: AUTH, 102: AUTH, 103: AUTH, 104: AUTH, 200: AUTH, 453: AUTH,
    160: GONE, 300: GONE, 455: GONE, 456: GONE, 457: GONE, 458: GONE,
}


def signature(params: dict[str, Any], access_token: str, secret_key: str) -> str:
    """`sig` of platforms.md §2.1: md5 of the sorted `key=value` pairs (no separator, raw UTF-8,
    without sig/access_token/session_key) + md5(access_token + secret_key), lower-case hex."""
    secret = _md5(access_token + secret_key) if access_token else secret_key
    signed = "".join(f"{key}={params[key]}" for key in sorted(params)
                     if key not in ("sig", "access_token", "session_key"))
    return _md5(signed + secret)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # the algorithm OK prescribes


class Client(PlatformClient):
    platform = "ok"
    default_url = "https://api.ok.ru"

    def __init__(self, settings: ClientSettings, session: requests.Session | None = None):
        super().__init__(settings, session)
        parts = settings.token.split(":")
        if len(parts) != 3 or not all(parts):
            raise AuthError(f"ok: GOVPULSE_OK_TOKEN must be {TOKEN_FORMAT}")
        self.application_key, self.secret_key, self.access_token = parts
        protect_logs(self.secrets())

    def authorize(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        params["application_key"] = self.application_key
        params.setdefault("format", "json")
        params["sig"] = signature(params, self.access_token, self.secret_key)
        params["access_token"] = self.access_token

    def secrets(self) -> list[str]:
        # the parts travel separately (access_token in the query, the secret key in `sig`)
        parts = getattr(self, "secret_key", None), getattr(self, "access_token", None)
        return [self.settings.token, *(p for p in parts if p)]

    def classify(self, response: requests.Response, body: Any) -> Verdict:
        if isinstance(body, dict) and "error_code" in body:
            code = _int(body.get("error_code"))
            outcome = ERROR_OUTCOMES.get(code, FATAL)
            wait = retry_after(response) if outcome == RATE_LIMITED else None
            return Verdict(outcome, f"OK error {code}: {body.get('error_msg') or ''}".strip(),
                           wait)
        if response.status_code != 200:
            return super().classify(response, body)
        if body is None:
            return Verdict(TRANSIENT, "HTTP 200 without a JSON body")
        return Verdict(OK)


def call(client: Client, method: str, params: dict[str, Any], page: Page) -> Capture:
    """One signed call as a Capture (the request without the keys, the token and `sig`)."""
    request = {"method": method, **params}
    body = client.get_json(PATH, dict(request), page=page.page_id)
    return Capture(endpoint=method, response=body, request=request, page=page)


def fetch_page(client: Client, page: Page, period: Period) -> Iterator[Capture]:
    """The group's members, then stream.get pages (anchor paging) back to the period's start."""
    gid = page.platform_page_id
    snapshot = call(client, "group.getInfo", {"uids": gid, "fields": "uid,name,members_count"},
                    page)
    # a top-level array by every client found; apiok.ru renders {"groups": [...]}: take both
    body = snapshot.response
    groups = body.get("groups") if isinstance(body, dict) else body
    if not groups:
        raise PageUnavailable(f"ok group.getInfo: no group {gid} (page {page.page_id})")
    yield snapshot
    yield from _stream(client, page, period)


def _stream(client: Client, page: Page, period: Period) -> Iterator[Capture]:
    """Newest first; follow `anchor` (through empty pages) until a topic of the group is older
    than the period, or there is no further anchor. The last topic of a page is its oldest, so
    a pinned one on top cannot stop the paging early."""
    start_ms = int(period.start_at.timestamp() * 1000)
    own = f"group:{page.platform_page_id}"
    params: dict[str, Any] = {"gid": page.platform_page_id, "patterns": "POST",
                              "fields": "feed.*,media_topic.*"}
    anchors: set[str] = set()
    while True:
        capture = call(client, "stream.get", params, page)
        yield capture
        body = capture.response if isinstance(capture.response, dict) else {}
        topics = [t for t in (body.get("entities") or {}).get("media_topics") or []
                  if t.get("owner_ref") in (None, own)]  # not the originals of reshares
        anchor = body.get("anchor")
        if topics and _int(topics[-1].get("created_ms")) < start_ms:
            return
        # has_more is [unverified] for stream.get: only an explicit false stops the paging
        if body.get("has_more") is False or not anchor or anchor in anchors:
            return
        anchors.add(anchor)
        params = {**params, "anchor": anchor}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
