"""The inbox contract (CONTRACTS.md §3) as data: datasets, columns, types, enums.

Landing turns each rule here into a SQL expression, so the contract is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PLATFORMS = ("vk", "ok", "facebook", "instagram", "x", "telegram", "youtube")
AUTHOR_TYPES = ("person", "community", "media", "government", "corporate", "bot", "unknown")
SENTIMENTS = ("positive", "neutral", "negative")
INTERACTION_KINDS = ("like", "comment")
SATISFACTION = ("satisfied", "unsatisfied")

# Column kinds: how a text value is parsed and which SQL type it lands as.
ID = "id"  # VARCHAR, trimmed, empty = NULL
TEXT = "text"  # VARCHAR as given, empty = NULL
ENUM = "enum"  # VARCHAR, trimmed and lower-cased, must be one of `values`
TIMESTAMP = "timestamp"  # TIMESTAMPTZ; no offset = the territory's local time
COUNT = "count"  # BIGINT >= 0
SHARE = "share"  # DOUBLE in [0, 1]
SCORE = "score"  # INTEGER in [1, 5]
BOOLEAN = "boolean"

# The range a numeric kind's value must lie in (None: unbounded), landing and validation alike.
BOUNDS: dict[str, tuple[float, float | None]] = {COUNT: (0, None), SHARE: (0, 1), SCORE: (1, 5)}

SQL_TYPES = {
    ID: "VARCHAR",
    TEXT: "VARCHAR",
    ENUM: "VARCHAR",
    TIMESTAMP: "TIMESTAMPTZ",
    COUNT: "BIGINT",
    SHARE: "DOUBLE",
    SCORE: "INTEGER",
    BOOLEAN: "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    values: tuple[str, ...] = field(default_factory=tuple)
    # a registry table whose entity_id the value must name (checked when landing)
    references: str | None = None
    # a column of the same row this timestamp may not precede
    not_before: str | None = None
    # the file must have the column even though a value may be empty (CONTRACTS §3 bold
    # `refuted_at`: "empty while unrefuted")
    in_header: bool = False

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        return BOUNDS.get(self.kind, (None, None))


def _c(name: str, kind: str, required: bool = False, values: tuple[str, ...] = (),
       references: str | None = None, not_before: str | None = None,
       in_header: bool = False) -> Column:
    return Column(name, kind, required, values, references, not_before, in_header)


DATASETS: dict[str, tuple[Column, ...]] = {
    "mentions": (
        _c("platform", ENUM, True, PLATFORMS),
        _c("mention_id", ID, True),
        _c("published_at", TIMESTAMP, True),
        _c("url", TEXT),
        _c("text", TEXT),
        _c("author_id", ID, True),
        _c("author_type", ENUM, True, AUTHOR_TYPES),
        _c("author_audience", COUNT),
        _c("source_id", ID),
        _c("likes", COUNT),
        _c("comments", COUNT),
        _c("reposts", COUNT),
        _c("views", COUNT),
        _c("sentiment", ENUM, True, SENTIMENTS),
        _c("entity_id", ID),
    ),
    "page_snapshots": (
        _c("platform", ENUM, True, PLATFORMS),
        _c("platform_page_id", ID, True),
        _c("captured_at", TIMESTAMP, True),
        _c("subscribers", COUNT, True),
        _c("bot_share", SHARE),
        _c("engaged_users_7d", COUNT),
    ),
    "page_posts": (
        _c("platform", ENUM, True, PLATFORMS),
        _c("platform_page_id", ID, True),
        _c("post_id", ID, True),
        _c("published_at", TIMESTAMP, True),
        _c("captured_at", TIMESTAMP, True),
        _c("likes", COUNT),
        _c("comments", COUNT),
        _c("reposts", COUNT),
        _c("views", COUNT),
    ),
    "post_interactions": (
        _c("platform", ENUM, True, PLATFORMS),
        _c("platform_page_id", ID, True),
        _c("post_id", ID, True),
        _c("user_id", ID, True),
        _c("kind", ENUM, True, INTERACTION_KINDS),
        _c("at", TIMESTAMP),
    ),
    "follower_audits": (
        _c("platform", ENUM, True, PLATFORMS),
        _c("platform_page_id", ID, True),
        _c("captured_at", TIMESTAMP, True),
        _c("follower_id", ID, True),
        _c("username", TEXT),
        _c("has_avatar", BOOLEAN),
        _c("posts_count", COUNT),
        _c("followers_count", COUNT),
        _c("following_count", COUNT),
    ),
    "incidents": (
        _c("incident_id", ID, True),
        _c("detected_at", TIMESTAMP, True),
        # METHODOLOGY §5: an incident naming an entity the registry lacks is quarantined
        _c("body_id", ID, True, references="entities"),
        _c("platform", ENUM, False, PLATFORMS),
        _c("url", TEXT),
        _c("category", TEXT),
        _c("municipality_id", ID),
        # a response or resolution before detection would rank a body first on E1
        _c("first_response_at", TIMESTAMP, not_before="detected_at"),
        _c("resolved_at", TIMESTAMP, not_before="detected_at"),
        _c("answer_quality", SCORE),
        _c("satisfaction", ENUM, False, SATISFACTION),
    ),
    # METHODOLOGY §8 (the monthly fakes report)
    "fakes": (
        _c("fake_id", ID, True),
        _c("claim", TEXT, True),
        _c("first_seen_at", TIMESTAMP, True),
        _c("platform", ENUM, False, PLATFORMS),
        _c("url", TEXT),
        _c("reach", COUNT),
        # quarantined when the registry lacks it, as an incident's body (methodology note)
        _c("body_id", ID, references="entities"),
        # a refutation before the fake was seen is quarantined (§8)
        _c("refuted_at", TIMESTAMP, not_before="first_seen_at", in_header=True),
        _c("refutation_url", TEXT),
        _c("refutation_reach", COUNT),
    ),
}

FILE_TYPES = (".csv", ".jsonl", ".json")

# An event time (TIMESTAMP column) later than landing + this many days cannot be real: it is a
# broken export clock or a day/month swap, and would count in a week it does not belong to.
# Landing quarantines it; the raw validation suites check the same tolerance for rows that reach
# raw another way.
FUTURE_TOLERANCE_DAYS = 1
