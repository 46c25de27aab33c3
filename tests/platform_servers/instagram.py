"""Instagram Graph API fixture (platforms.md §5): own accounts (`/{ig-user-id}`, `/media`,
`/insights`), `business_discovery` on the own account for other professional accounts, and
`/me/accounts` to find the own account. Hidden like counts are omitted from media, as
business_discovery does for accounts that hide likes; unavailable insights are `{"data": []}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from tests.platform_servers import Reply
from tests.platform_servers.meta import (
    MetaServer,
    cursor,
    graph_error,
    graph_time,
    not_found,
    offset_of,
    parse_field,
    split_fields,
    unknown_field,
)

DEFAULT_MEDIA_FIELDS = "id"


@dataclass
class Media:
    id: str
    timestamp: datetime
    like_count: int | None = 0  # None: hidden by the owner, omitted from the answer
    comments_count: int | None = 0
    media_type: str = "IMAGE"
    hidden: bool = False  # removed between paging and rendering: leaves an empty slot

    def render(self, fields: str) -> dict[str, Any] | None:
        if self.hidden:
            return None
        values = {
            "id": self.id, "timestamp": graph_time(self.timestamp), "like_count": self.like_count,
            "comments_count": self.comments_count, "media_type": self.media_type,
            "media_product_type": "FEED", "permalink": f"https://www.instagram.com/p/{self.id}/",
        }
        return {k: values[k] for k in split_fields(fields) if values.get(k) is not None}


@dataclass
class Account:
    id: str
    username: str
    followers_count: int | None
    media: list[Media] = field(default_factory=list)
    own: bool = False  # readable by id with this token (else only via business_discovery)
    accounts_engaged: int | None = None  # None: insights answer with empty data

    def newest_first(self) -> list[Media]:
        return sorted(self.media, key=lambda m: m.timestamp, reverse=True)

    def values(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "name": self.username.title(),
                "followers_count": self.followers_count, "follows_count": 12,
                "media_count": len(self.media)}


class InstagramServer(MetaServer):
    buc_type = "instagram"

    def __init__(self, accounts: list[Account], token: str = "ig-test-token",
                 linked_page_id: str = "100200300") -> None:
        super().__init__(token)
        self.accounts = {a.id: a for a in accounts}
        self.by_username = {a.username: a for a in accounts}
        self.linked_page_id = linked_page_id
        self.after_on_last_page = True  # Graph keeps an `after` cursor on the last page

    def get(self, parts: list[str], query: dict[str, str], base_url: str) -> Reply:
        if parts == ["me", "accounts"]:
            return Reply(200, self._me_accounts())
        account = self.accounts.get(parts[0])
        if account is None or not account.own:
            return not_found(parts[0])
        edge = parts[1] if len(parts) > 1 else None
        url = f"{base_url}/{'/'.join(parts)}"
        if edge is None:
            return self._node(account, query.get("fields", "id"))
        if edge == "media":
            fields = query.get("fields", DEFAULT_MEDIA_FIELDS)
            return Reply(200, self.edge_page(account.newest_first(), query, url,
                                             lambda m: m.render(fields)))
        if edge == "insights":
            return self._insights(account, query, url)
        return unknown_field(edge)

    def _me_accounts(self) -> dict[str, Any]:
        own = [a for a in self.accounts.values() if a.own]
        data = [{"id": self.linked_page_id, "instagram_business_account": {"id": a.id}}
                for a in own[:1]]
        return {"data": data, "paging": {"cursors": {"before": cursor(0), "after": cursor(1)}}}

    def _node(self, account: Account, fields: str) -> Reply:
        body: dict[str, Any] = {}
        for expr in split_fields(fields):
            name, modifiers, sub = parse_field(expr)
            if name == "business_discovery":
                found = self._discover(modifiers.get("username", ""), sub or "id")
                if isinstance(found, Reply):
                    return found
                body["business_discovery"] = found
            elif account.values().get(name) is not None:
                body[name] = account.values()[name]
        body["id"] = account.id
        return Reply(200, body)

    def _discover(self, username: str, fields: str) -> dict[str, Any] | Reply:
        target = self.by_username.get(username)
        if target is None:
            return graph_error(110, "Invalid user id", subcode=2207013, is_transient=False,
                               error_user_title="Cannot find User",
                               error_user_msg=f"The user with username: {username} cannot be "
                                              "found.")
        found: dict[str, Any] = {}
        for expr in split_fields(fields):
            name, modifiers, sub = parse_field(expr)
            if name == "media":
                found["media"] = self._discovery_media(target, modifiers, sub or "id")
            elif target.values().get(name) is not None:
                found[name] = target.values()[name]
        found["id"] = target.id
        return found

    def _discovery_media(self, target: Account, modifiers: dict[str, str],
                         fields: str) -> dict[str, Any]:
        """`media.after(X).limit(N){…}`: cursors only, no `next` URL (platforms.md §5.3)."""
        items = target.newest_first()
        limit = min(int(modifiers.get("limit", 25)), self.page_size)
        offset = offset_of(modifiers.get("after"))
        window = items[offset:offset + limit]
        body: dict[str, Any] = {"data": [r for r in (m.render(fields) for m in window) if r]}
        if window:
            cursors = {"before": cursor(offset)}
            if offset + limit < len(items) or self.after_on_last_page:
                cursors["after"] = cursor(offset + len(window))
            body["paging"] = {"cursors": cursors}
        return body

    def _insights(self, account: Account, query: dict[str, str], url: str) -> Reply:
        metrics = query.get("metric", "").split(",")
        for metric in metrics:
            if metric in ("impressions", "plays", "video_views"):
                return graph_error(100, f"(#100) {metric} metric is no longer supported",
                                   type_="OAuthException")
        data = []
        if "accounts_engaged" in metrics and account.accounts_engaged is not None:
            data.append({
                "name": "accounts_engaged", "period": query.get("period", "day"),
                "title": "Accounts engaged",
                "description": "The number of accounts that have interacted with your content.",
                "total_value": {"value": account.accounts_engaged},
                "id": f"{account.id}/insights/accounts_engaged/{query.get('period', 'day')}",
            })
        body: dict[str, Any] = {"data": data}
        if data and "since" in query and "until" in query:
            span = int(query["until"]) - int(query["since"])
            earlier = {**query, "since": int(query["since"]) - span, "until": query["since"]}
            later = {**query, "since": query["until"], "until": int(query["until"]) + span}
            body["paging"] = {"previous": f"{url}?{urlencode(earlier)}",
                              "next": f"{url}?{urlencode(later)}"}
        return Reply(200, body)
