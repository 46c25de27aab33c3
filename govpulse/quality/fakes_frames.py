"""The frames of the candidate fakes report (METHODOLOGY §8) a monthly run validates before
publishing: the figures' schema, their row of the month, and one row of 0/1 flags recounted
from the month's fakes (intermediate.int_fakes_month) and the report's lists."""

from __future__ import annotations

from datetime import date

import duckdb

from govpulse.quality import suites as vs
from govpulse.quality.jobs import Frame, Job, schema_frames, skipped, table_types

MONTH = "intermediate.int_fakes_month"
UNREFUTED = "intermediate.int_fakes_unrefuted"
BY_BODY = "intermediate.int_fakes_by_body"


def fakes_job(con: duckdb.DuckDBPyConnection, period_start: date) -> Job:
    """The fakes report's frames of the month starting `period_start`."""
    suite = vs.FAKES_REPORT
    types = table_types(con, vs.FAKES_TABLE)
    missing = [t for t in (vs.FAKES_TABLE, MONTH, UNREFUTED, BY_BODY)
               if table_types(con, t) is None]
    if types is None or missing:  # a warehouse the monthly transform has not built them in
        return Job(suite, results=[skipped(suite, f"no {', '.join(missing)}")])
    rows = con.execute(f"SELECT * FROM {vs.FAKES_TABLE} WHERE period_start = ?",
                       [period_start]).df()
    if rows.empty:
        return Job(suite, results=[skipped(
            suite, "the run does not produce the fakes report (dbt var fakes_report)")])
    # the intermediate tables hold only the run's month (the month's fakes, its lists)
    flags = con.execute(
        f"""
        WITH f AS (SELECT * FROM {vs.FAKES_TABLE} WHERE period_start = $start),
        month AS (SELECT count(DISTINCT fake_id) AS found,
                         count(*) FILTER (WHERE refuted_at IS NULL) AS unrefuted
                  FROM {MONTH}),
        lists AS (SELECT (SELECT count(*) FROM {UNREFUTED}) AS unrefuted,
                         (SELECT coalesce(sum(fakes_found), 0) FROM {BY_BODY}) AS by_body)
        SELECT
            CASE WHEN max(f.fakes_found) = max(month.found)
                 THEN 0 ELSE 1 END AS found_mismatch,
            CASE WHEN coalesce(max(f.fakes_refuted), 0) <= coalesce(max(f.fakes_found), 0)
                      AND coalesce(max(f.refuted_within_24h_pct), 0) <= 100
                      AND coalesce(max(f.refuted_pct), 0) <= 100
                 THEN 0 ELSE 1 END AS refuted_beyond_found,
            CASE WHEN max(lists.unrefuted) = max(f.fakes_found) - max(f.fakes_refuted)
                      AND max(lists.unrefuted) = max(month.unrefuted)
                      AND max(lists.by_body) <= max(f.fakes_found)
                 THEN 0 ELSE 1 END AS lists_mismatch,
            CASE WHEN count(f.fakes_found) <= 1 THEN 0 ELSE 1 END AS row_count_mismatch,
            max(f.fakes_found) AS fakes_found, max(month.found) AS month_fakes,
            max(lists.unrefuted) AS unrefuted_listed
        FROM month CROSS JOIN lists CROSS JOIN f
        """,
        {"start": period_start},
    ).df()
    return Job(
        suite,
        frames={**schema_frames(types, vs.FAKES_COLUMNS), vs.ROWS: Frame(rows),
                vs.UNITS: Frame(flags, {"period_start": period_start.isoformat()})},
        index={vs.ROWS: ("period_start",), vs.UNITS: ("fakes_found", "month_fakes")},
    )
