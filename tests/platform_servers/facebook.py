"""Facebook Graph API Pages fixture (platforms.md §6): `/{page-id}` with fan_count and
followers_count, `/{page-id}/posts` with reactions/comments summaries and `shares` omitted when
a post has none. `since`/`until` filter the posts before the cursor window is cut and hidden
posts are dropped after it, so a chain can hold empty pages that still carry `next`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.platform_servers import Reply
from tests.platform_servers.meta import (
    MetaServer,
    alias_missing,
    graph_time,
    not_found,
    parse_field,
    split_fields,
    unknown_field,
)


@dataclass
class Post:
    id: str
    created_time: datetime
    reactions: int | None = 0  # None: the edge is not returned (e.g. no permission)
    comments: int | None = 0
    shares: int = 0  # 0: the `shares` field is omitted
    hidden: bool = False  # filtered after paging: an empty slot in its page

    def render(self, fields: str) -> dict[str, Any] | None:
        if self.hidden:
            return None
        row: dict[str, Any] = {}
        for expr in split_fields(fields):
            name, _, _ = parse_field(expr)
            value = self._field(name)
            if value is not None:
                row[name] = value
        return row

    def _field(self, name: str) -> Any:
        if name == "reactions" and self.reactions is not None:
            return {"data": [], "summary": {"total_count": self.reactions,
                                            "viewer_reaction": "NONE"}}
        if name == "comments" and self.comments is not None:
            return {"data": [], "summary": {"order": "ranked", "total_count": self.comments,
                                            "can_comment": True}}
        if name == "shares":
            return {"count": self.shares} if self.shares else None
        return {"id": self.id, "created_time": graph_time(self.created_time),
                "message": f"Post {self.id}",
                "permalink_url": f"https://www.facebook.com/{self.id.replace('_', '/posts/')}",
                }.get(name)


@dataclass
class FbPage:
    id: str
    name: str
    fan_count: int | None
    followers_count: int | None
    posts: list[Post] = field(default_factory=list)
    alias: str | None = None  # vanity name, usable instead of the id


class FacebookServer(MetaServer):
    buc_type = "pages"

    def __init__(self, pages: list[FbPage], token: str = "fb-test-token") -> None:
        super().__init__(token)
        self.pages = {p.id: p for p in pages}
        self.pages.update({p.alias: p for p in pages if p.alias})
        self.honour_time_filter = True  # False: behave like edges that ignore since/until

    def get(self, parts: list[str], query: dict[str, str], base_url: str) -> Reply:
        page = self.pages.get(parts[0])
        if page is None:
            return not_found(parts[0]) if parts[0].isdigit() else alias_missing(parts[0])
        edge = parts[1] if len(parts) > 1 else None
        if edge is None:
            values = {"id": page.id, "name": page.name, "fan_count": page.fan_count,
                      "followers_count": page.followers_count}
            fields = split_fields(query.get("fields", "id,name"))
            return Reply(200, {k: values[k] for k in fields if values.get(k) is not None})
        if edge == "posts":
            fields = query.get("fields", "id,created_time,message")
            posts = self._posts(page, query)
            url = f"{base_url}/{'/'.join(parts)}"
            return Reply(200, self.edge_page(posts, query, url, lambda p: p.render(fields)))
        return unknown_field(edge)

    def _posts(self, page: FbPage, query: dict[str, str]) -> list[Post]:
        posts = sorted(page.posts, key=lambda p: p.created_time, reverse=True)
        if not self.honour_time_filter:
            return posts
        since, until = query.get("since"), query.get("until")
        if since:
            start = datetime.fromtimestamp(int(since), UTC)
            posts = [p for p in posts if p.created_time >= start]
        if until:
            end = datetime.fromtimestamp(int(until), UTC)
            posts = [p for p in posts if p.created_time <= end]
        return posts
