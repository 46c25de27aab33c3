"""Land the connectors' native capture files (`<inbox>/api/<platform>/<week>/*.json`).

A capture file is one envelope (see ingestion/connectors/native.py) and becomes one row of
`raw.api_captures`, its response kept as JSON for dbt staging to map. Its records (the posts of
a page of posts, the page of a page snapshot) are then checked against the rule of their shape
(`RECORD_SHAPES`: what a rating needs from them): a record without an id or a publication time,
or with a counter that is not a whole number, is written to `ops.quarantine` (file = the
capture, line = the record's 1-based position in its list, as staging's `_line`) and staging
leaves out exactly the quarantined records (macro `api_record_kept`), so the two cannot
disagree and a staging data test is never the first to notice bad input.

A `_fetch_report-*.json` file becomes rows of `ops.fetch_pages` (which pages could not be
fetched, and why) and one `page_gone` row of `ops.alerts` per page its platform reports gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from govpulse.warehouse.sql import first_row, literal

log = logging.getLogger(__name__)

REPORT_PREFIX = "_fetch_report-"


def discover_api_files(api_dir: Path) -> list[Path]:
    """Capture and report files in byte order of their path (the load-order rule)."""
    if not api_dir.is_dir():
        return []
    files = [p for p in api_dir.rglob("*.json") if p.is_file() and not p.name.startswith(".")]
    return sorted(files, key=lambda p: p.relative_to(api_dir).as_posix().encode())


def _max_object_size(path: Path) -> int:
    """A capture is one JSON object, as large as its file (DuckDB's default cap is 16 MB)."""
    return max(16 * 1024 * 1024, path.stat().st_size + 1)


def land_api_file(con: duckdb.DuckDBPyConnection, path: Path, relative: str, load_id: int,
                  run_id: str) -> tuple[int, str | None]:
    """Insert one file inside the caller's transaction; return (rows, error reason)."""
    try:
        if path.name.startswith(REPORT_PREFIX):
            return _land_report(con, path, relative, run_id), None
        return _land_capture(con, path, relative, load_id, run_id), None
    except duckdb.Error as exc:
        return 0, f"unreadable capture file: {str(exc).splitlines()[0][:300]}"


def _land_capture(con: duckdb.DuckDBPyConnection, path: Path, relative: str, load_id: int,
                  run_id: str) -> int:
    con.execute(
        """
        INSERT INTO raw.api_captures
        SELECT json ->> 'platform', json ->> 'endpoint', json ->> 'page_id',
               json ->> 'platform_page_id', (json ->> 'period_start')::DATE,
               (json ->> 'captured_at')::TIMESTAMPTZ, json -> 'request', json -> 'response',
               ?, ?, ?, 1, now()
        FROM read_json_objects(?, format = 'auto', maximum_object_size = ?)
        """,
        [load_id, run_id, relative, str(path), _max_object_size(path)],
    )
    if quarantined := quarantine_bad_records(con, load_id, run_id):
        log.warning("%s: %d records quarantined (see ops.quarantine)", relative, quarantined)
    return 1


def _land_report(con: duckdb.DuckDBPyConnection, path: Path, relative: str, run_id: str) -> int:
    before = first_row(con.execute("SELECT count(*) FROM ops.fetch_pages"))[0]
    con.execute(
        """
        INSERT INTO ops.fetch_pages
        WITH report AS (SELECT json FROM read_json_objects(?, format = 'auto',
                                                            maximum_object_size = ?)),
        pages AS (
            SELECT json ->> 'platform' AS platform, (json ->> 'period_start')::DATE AS week,
                   (json ->> 'started_at')::TIMESTAMPTZ AS fetched_at,
                   unnest(json_keys(json -> 'pages')) AS page_id, json -> 'pages' AS pages
            FROM report
        )
        SELECT ?, platform, week, page_id,
               pages -> page_id ->> 'status', pages -> page_id ->> 'reason', ?, fetched_at
        FROM pages
        """,
        [str(path), _max_object_size(path), run_id, relative],
    )
    landed = first_row(con.execute("SELECT count(*) FROM ops.fetch_pages"))[0] - before
    _alert_gone_pages(con, path, run_id)
    return landed


def _alert_gone_pages(con: duckdb.DuckDBPyConnection, path: Path, run_id: str) -> None:
    """One `page_gone` alert per page the report says is gone, with the text the fetch wrote
    (and already delivered to the webhook, see govpulse/orchestration/credentials.py); once per
    run, when a retried fetch reported it twice."""
    con.execute(
        """
        INSERT INTO ops.alerts (run_id, kind, period_start, deadline, noticed_at, message)
        WITH report AS (SELECT json FROM read_json_objects($path, format = 'auto',
                                                            maximum_object_size = $size)),
        entries AS (
            SELECT (json ->> 'period_start')::DATE AS week,
                   unnest(json_keys(json -> 'pages')) AS page_id, json -> 'pages' AS page_map
            FROM report
        )
        SELECT $run_id, 'page_gone', week, NULL, now(), page_map -> page_id ->> 'alert'
        FROM entries
        WHERE page_map -> page_id ->> 'status' = 'gone'
          AND (page_map -> page_id ->> 'alert') IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM ops.alerts a
                          WHERE a.run_id = $run_id AND a.kind = 'page_gone'
                            AND a.message = page_map -> page_id ->> 'alert')
        ORDER BY page_id
        """,
        {"path": str(path), "size": _max_object_size(path), "run_id": run_id},
    )


# ---- record rules ---------------------------------------------------------------------------
ISO, UNIX_SECONDS, UNIX_MS = "an ISO-8601 time", "Unix seconds", "Unix milliseconds"


@dataclass(frozen=True)
class RecordShape:
    """What a rating needs from the records of one capture shape.

    `records` is the JSON path of the list of records in the response, or None when the whole
    response is the one record (a page snapshot, line 1). Paths of the other fields are inside
    a record. A missing counter is allowed (NULL: the platform left it out); a counter that is
    there must be a whole number (or a string of one: YouTube and TGStat send strings)."""

    platform: str
    endpoints: tuple[str, ...]
    kind: str  # posts | page_snapshots | mentions: the staged kind (quarantine dataset api_<kind>)
    records: str | None
    ids: tuple[str, ...] = ()
    time: str | None = None
    time_format: str = ISO
    counters: tuple[str, ...] = ()
    fix: str = "re-fetch the week with the connector (govpulse fetch)"

    @property
    def dataset(self) -> str:
        """ops.quarantine.dataset of its records: staging looks them up by kind, file, line."""
        return f"api_{self.kind}"


_VK_COUNTERS = ("$.likes.count", "$.comments.count", "$.reposts.count", "$.views.count")
_META_FIX = "re-fetch the week with the connector (it asks Graph for these fields)"

RECORD_SHAPES: tuple[RecordShape, ...] = (
    RecordShape("vk", ("wall.get",), "posts", "$.response.items", ("$.id",), "$.date",
                UNIX_SECONDS, _VK_COUNTERS),
    RecordShape("vk", ("newsfeed.search",), "mentions", "$.response.items",
                ("$.id", "$.owner_id", "$.from_id"), "$.date", UNIX_SECONDS, _VK_COUNTERS),
    RecordShape("vk", ("groups.getById",), "page_snapshots", None,
                counters=("$.response.groups[0].members_count", "$.response[0].members_count"),
                fix="re-fetch the week with the connector (fields=members_count)"),
    RecordShape("ok", ("stream.get",), "posts", "$.entities.media_topics", ("$.id",),
                "$.created_ms", UNIX_MS,
                ("$.like_summary.count", "$.discussion_summary.comments_count",
                 "$.reshare_summary.count", "$.views_count")),
    RecordShape("ok", ("group.getInfo",), "page_snapshots", None,
                counters=("$[0].members_count", "$.groups[0].members_count")),
    RecordShape("telegram", ("channels/posts",), "posts", "$.response.items", ("$.id",), "$.date",
                UNIX_SECONDS, ("$.reactions_count", "$.comments_count", "$.shares_count",
                               "$.views")),
    RecordShape("telegram", ("channels/get",), "page_snapshots", None,
                counters=("$.response.participants_count",)),
    RecordShape("youtube", ("playlistItems.list",), "posts", "$.items",
                ("$.contentDetails.videoId",), "$.contentDetails.videoPublishedAt", ISO,
                fix="a private or deleted upload has no videoPublishedAt; nothing to fix "
                    "unless the video is public"),
    RecordShape("youtube", ("videos.list",), "posts", "$.items", ("$.id",),
                counters=("$.statistics.likeCount", "$.statistics.commentCount",
                          "$.statistics.viewCount")),
    RecordShape("youtube", ("channels.list",), "page_snapshots", None,
                counters=("$.items[0].statistics.subscriberCount",)),
    RecordShape("instagram", ("ig_user/media",), "posts", "$.data", ("$.id",), "$.timestamp", ISO,
                ("$.like_count", "$.comments_count"), _META_FIX),
    RecordShape("instagram", ("business_discovery", "business_discovery/media"), "posts",
                "$.business_discovery.media.data", ("$.id",), "$.timestamp", ISO,
                ("$.like_count", "$.comments_count"), _META_FIX),
    RecordShape("instagram", ("ig_user",), "page_snapshots", None,
                counters=("$.followers_count",)),
    RecordShape("instagram", ("business_discovery",), "page_snapshots", None,
                counters=("$.business_discovery.followers_count",)),
    RecordShape("facebook", ("page/posts",), "posts", "$.data", ("$.id",), "$.created_time", ISO,
                ("$.reactions.summary.total_count", "$.comments.summary.total_count",
                 "$.shares.count"), _META_FIX),
    RecordShape("facebook", ("page",), "page_snapshots", None,
                counters=("$.followers_count", "$.fan_count")),
    RecordShape("x", ("users/:id/tweets",), "posts", "$.data", ("$.id",), "$.created_at", ISO,
                ("$.public_metrics.like_count", "$.public_metrics.reply_count",
                 "$.public_metrics.retweet_count", "$.public_metrics.quote_count",
                 "$.public_metrics.impression_count"),
                "request the timeline with tweet.fields=created_at,public_metrics (govpulse "
                "fetch x does)"),
    RecordShape("x", ("users/by/username/:username", "users/:id"), "page_snapshots", None,
                counters=("$.data.public_metrics.followers_count",),
                fix="request the user with user.fields=public_metrics (govpulse fetch x does)"),
)




def _name(path: str) -> str:
    return path.removeprefix("$").removeprefix(".") or "the record"


def _problems_sql(shape: RecordShape, record: str) -> list[str]:
    """One `CASE WHEN <bad> THEN '<what>' END` per rule of the shape (NULL when it holds)."""
    problems = []
    if shape.records is not None:
        problems.append(f"CASE WHEN json_type({record}) <> 'OBJECT' "
                        "THEN 'the record is not a JSON object' END")
    for path in shape.ids:
        value = f"({record} ->> {literal(path)})"
        problems.append(f"CASE WHEN nullif(trim({value}), '') IS NULL "
                        f"THEN {literal('no ' + _name(path))} END")
    if shape.time is not None:
        value = f"({record} ->> {literal(shape.time)})"
        target = "TIMESTAMPTZ" if shape.time_format == ISO else "BIGINT"
        field = _name(shape.time)
        problems.append(
            f"CASE WHEN {value} IS NULL THEN {literal(f'no publication time ({field})')}"
            f" WHEN try_cast({value} AS {target}) IS NULL "
            f"THEN {literal(f'{field} is not {shape.time_format}')} END")
    for path in shape.counters:
        value = f"({record} ->> {literal(path)})"
        problems.append(f"CASE WHEN {value} IS NOT NULL AND try_cast({value} AS BIGINT) IS NULL "
                        f"THEN {literal(_name(path) + ' is not a whole number')} END")
    return problems


def record_rule_sql(shape: RecordShape) -> str:
    """INSERT of the capture's bad records of this shape into ops.quarantine (parameters: run
    id, load id, platform, endpoints); one statement, DuckDB does the work."""
    if shape.records is None:
        source, record, line = "raw.api_captures c", "c.response", "1::BIGINT"
        where_list = "the response"
    else:
        source = f"raw.api_captures c, json_each(c.response, {literal(shape.records)}) AS item"
        record, line = "item.value", "item.key::BIGINT + 1"
        where_list = _name(shape.records)
    problems = ", ".join(_problems_sql(shape, record))
    return f"""
        INSERT INTO ops.quarantine
        SELECT run_id, {literal(shape.dataset)}, file, line,
               platform || ' ' || endpoint || ' record ' || line || ' of ' || {literal(where_list)}
                   || ': ' || problems || '. Left out of the rating; to fix: '
                   || {literal(shape.fix)},
               NULL, now()
        FROM (
            SELECT ?::VARCHAR AS run_id, c._file AS file, c.platform, c.endpoint,
                   {line} AS line, nullif(concat_ws('; ', {problems}), '') AS problems
            FROM {source}
            WHERE c._load_id = ? AND c.platform = ? AND list_contains(?::VARCHAR[], c.endpoint)
        )
        WHERE problems IS NOT NULL
    """


def quarantine_bad_records(con: duckdb.DuckDBPyConnection, load_id: int, run_id: str) -> int:
    """Quarantine the records of one landed capture that break their shape's rule; return how
    many (inside the caller's transaction)."""
    row = con.execute("SELECT platform, endpoint FROM raw.api_captures WHERE _load_id = ?",
                      [load_id]).fetchone()
    if row is None:
        return 0
    quarantined = 0
    for shape in RECORD_SHAPES:
        if shape.platform == row[0] and row[1] in shape.endpoints:
            quarantined += first_row(con.execute(record_rule_sql(shape), [
                run_id, load_id, shape.platform, list(shape.endpoints)]))[0]
    return quarantined
