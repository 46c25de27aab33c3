"""Facebook Graph API connector for Pages (platforms.md §6).

`GET /{page-id}?fields=id,name,fan_count,followers_count` gives the page snapshot;
`GET /{page-id}/posts?fields=…,shares,reactions.summary(total_count).limit(0),
comments.summary(total_count).limit(0)&since=…&until=…` gives the week's posts with their
counters, following `paging.next` (empty intermediate pages included) until it is absent or
the posts are older than the week. Reading pages other than one's own needs the Page Public
Content Access feature; without it Meta answers with a permission error, which stops the fetch.

Capture endpoints (staging selects on them): `page`, `page/posts`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ingestion.connectors.meta import MetaClient, scrub, walk_edge
from ingestion.connectors.native import Capture, Page, Period

PAGE_FIELDS = "id,name,fan_count,followers_count"
POST_FIELDS = ("id,created_time,permalink_url,shares,"
               "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)")
PAGE_SIZE = 50  # summaries make posts heavy; larger pages risk "reduce the amount of data"


class Client(MetaClient):
    platform = "facebook"


def fetch_page(client: Client, page: Page, period: Period) -> Iterator[Capture]:
    page_ref = page.platform_page_id.strip()
    params: dict[str, Any] = {"fields": PAGE_FIELDS}
    body = client.get_json(page_ref, params, page=page.page_id)
    yield Capture("page", scrub(body, client.settings.token), params, page)
    posts = {
        "fields": POST_FIELDS, "limit": PAGE_SIZE,
        "since": int(period.start_at.timestamp()), "until": int(period.end_at.timestamp()),
    }
    yield from walk_edge(client, f"{page_ref}/posts", posts, endpoint="page/posts", page=page,
                         start_at=period.start_at, time_field="created_time")
