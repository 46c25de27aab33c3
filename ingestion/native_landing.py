"""Land the connectors' native capture files (`<inbox>/api/<platform>/<week>/*.json`).

A capture file is one envelope (see ingestion/connectors/native.py) and becomes one row of
`raw.api_captures`, its response kept as JSON for dbt staging to map. A `_fetch_report-*.json`
file becomes rows of `ops.fetch_pages` (which pages could not be fetched, and why).
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

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
    return 1


def _land_report(con: duckdb.DuckDBPyConnection, path: Path, relative: str, run_id: str) -> int:
    before = con.execute("SELECT count(*) FROM ops.fetch_pages").fetchone()[0]
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
    return con.execute("SELECT count(*) FROM ops.fetch_pages").fetchone()[0] - before
