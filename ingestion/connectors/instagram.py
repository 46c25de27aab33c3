"""Instagram Graph API connector (Instagram API with Facebook Login, platforms.md §5).

A registry page is either an account the token manages (numeric IG user id) or another
professional account (its username), read through `business_discovery` on the token's own
account. Own accounts: `GET /{id}` (followers_count), `GET /{id}/insights` (accounts_engaged
over the week, for engaged_users_7d; empty `data` is normal) and `GET /{id}/media` pages.
Other accounts: `GET /{own-id}?fields=business_discovery.username(U){followers_count,…,media}`,
then the same call with `media.after(<cursor>)` for older media. Insights are not available
for other accounts.

Capture endpoints (staging selects on them): `ig_user`, `ig_user/insights`, `ig_user/media`,
`business_discovery` (account + first media page), `business_discovery/media` (older media).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import requests

from govpulse.settings import env
from ingestion.connectors.base import (
    AuthError,
    BudgetExhausted,
    ClientSettings,
    ConnectorError,
    PageUnavailable,
    RetriesExhausted,
)
from ingestion.connectors.meta import MetaClient, reached_older, scrub, walk_edge
from ingestion.connectors.native import Capture, Page, Period

log = logging.getLogger(__name__)

OWN_ID_ENV = "GOVPULSE_INSTAGRAM_USER_ID"
ACCOUNT_FIELDS = "id,username,followers_count,follows_count,media_count"
MEDIA_FIELDS = "id,timestamp,like_count,comments_count,media_type,media_product_type,permalink"
PAGE_SIZE = 25  # the documented business_discovery page size; /media uses the same
USERNAME = re.compile(r"[A-Za-z0-9._]{1,30}")  # Instagram's own rule; keeps field syntax out


class Client(MetaClient):
    platform = "instagram"
    gone_codes = frozenset({110})  # business_discovery: "Invalid user id" (unknown username)

    def __init__(self, settings: ClientSettings, session: requests.Session | None = None):
        super().__init__(settings, session)
        self._own_user_id = env(OWN_ID_ENV) or None

    def own_user_id(self) -> str:
        """The token's own professional account, which business_discovery is called on."""
        if self._own_user_id is None:
            self._own_user_id = self._discover_own_user_id()
        return self._own_user_id

    def _discover_own_user_id(self) -> str:
        # the Instagram account linked to one of the token's Facebook Pages
        body = self.get_json("me/accounts", {"fields": "instagram_business_account"})
        for account in body.get("data") or []:
            linked = account.get("instagram_business_account") or {}
            if linked.get("id"):
                return str(linked["id"])
        raise ConnectorError(
            "instagram: business_discovery needs an Instagram professional account linked to "
            f"the token's Facebook Pages; none found: link one or set {OWN_ID_ENV}"
        )


def fetch_page(client: Client, page: Page, period: Period) -> Iterator[Capture]:
    account = page.platform_page_id.strip().lstrip("@")
    if account.isdigit():
        yield from _fetch_own(client, page, account, period)
    else:
        yield from _fetch_discovered(client, page, account, period)


def _fetch_own(client: Client, page: Page, user_id: str, period: Period) -> Iterator[Capture]:
    params: dict[str, Any] = {"fields": ACCOUNT_FIELDS}
    body = client.get_json(user_id, params, page=page.page_id)
    yield Capture("ig_user", scrub(body, client.settings.token), params, page)
    yield from _fetch_insights(client, page, user_id, period)
    media = {"fields": MEDIA_FIELDS, "limit": PAGE_SIZE}
    yield from walk_edge(client, f"{user_id}/media", media, endpoint="ig_user/media", page=page,
                         start_at=period.start_at, time_field="timestamp")


def _fetch_insights(client: Client, page: Page, user_id: str,
                    period: Period) -> Iterator[Capture]:
    """Accounts engaged over exactly the week; insights are optional, so their errors (too few
    followers, missing permission) skip them, except those that stop the whole fetch."""
    params: dict[str, Any] = {
        "metric": "accounts_engaged", "period": "day", "metric_type": "total_value",
        "since": int(period.start_at.timestamp()), "until": int(period.end_at.timestamp()),
    }
    try:
        body = client.get_json(f"{user_id}/insights", params, page=page.page_id)
    except (AuthError, BudgetExhausted, RetriesExhausted):
        raise
    except ConnectorError as exc:
        log.warning("instagram %s: no insights: %s", page.page_id, exc)
        return
    yield Capture("ig_user/insights", scrub(body, client.settings.token), params, page)


def _discovery_fields(username: str, cursor: str | None) -> str:
    if cursor is None:
        return (f"business_discovery.username({username}){{id,username,followers_count,"
                f"media_count,media.limit({PAGE_SIZE}){{{MEDIA_FIELDS}}}}}")
    return (f"business_discovery.username({username})"
            f"{{media.after({cursor}).limit({PAGE_SIZE}){{{MEDIA_FIELDS}}}}}")


def _fetch_discovered(client: Client, page: Page, username: str,
                      period: Period) -> Iterator[Capture]:
    if not USERNAME.fullmatch(username):
        raise PageUnavailable(f"instagram: {page.page_id}: {username!r} is not an Instagram "
                              "username or numeric account id")
    own_id, cursor, endpoint = client.own_user_id(), None, "business_discovery"
    seen: set[str] = set()
    while True:
        params = {"fields": _discovery_fields(username, cursor)}
        body = _discover(client, own_id, params, page)
        yield Capture(endpoint, scrub(body, client.settings.token), params, page)
        media = body["business_discovery"].get("media") or {}
        items = media.get("data") or []
        paging = media.get("paging") or {}
        cursor = (paging.get("cursors") or {}).get("after")
        # the documented answer has cursors but no `next`: an empty page ends the chain
        if (not cursor or cursor in seen or not (items or paging.get("next"))
                or reached_older(items, "timestamp", period.start_at)):
            return
        seen.add(cursor)
        endpoint = "business_discovery/media"


def _discover(client: Client, own_id: str, params: dict[str, Any], page: Page) -> Any:
    """One business_discovery call; any error about the target account means it cannot be
    discovered (unknown, personal or age-gated): the page is unavailable (platforms.md §5.3)."""
    try:
        body = client.get_json(own_id, params, page=page.page_id)
    except (AuthError, BudgetExhausted, RetriesExhausted, PageUnavailable):
        raise
    except ConnectorError as exc:
        raise PageUnavailable(f"{exc} (page {page.page_id}: not discoverable)") from exc
    if not isinstance(body.get("business_discovery"), dict):
        raise PageUnavailable(f"instagram: {page.page_id} ({page.platform_page_id}) "
                              "not returned by business_discovery")
    return body
