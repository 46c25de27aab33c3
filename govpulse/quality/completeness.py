"""The frame of the fetch's completeness: per platform, pages fetched / pages reachable."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb

from govpulse import settings
from govpulse.quality import suites as vs
from govpulse.quality.jobs import Frame, Job, skipped, table_types
from govpulse.warehouse.sql import first_row


def completeness_job(con: duckdb.DuckDBPyConnection, run_id: str, period_start: date,
                      expected_platforms: Sequence[str] = ()) -> Job:
    """Per platform fetched for this run: fetched pages / registry pages the fetch could reach.

    A page its platform reports gone (deleted, blocked, not found: status `gone`) is left out:
    the week is rated without its data and a `page_gone` alert says to set its active_to.
    A configured platform reports every registry page `not_fetched` before its first request
    (ingestion/connectors/fetch.py), so a fetch that failed or died counts here as 0 fetched.
    A weekly run (the runs that fetch) also counts a platform with a token and registry pages
    that landed no report at all (its fetch task failed before fetching, e.g. an unwritable
    inbox) as 0 fetched. A platform without a token is not counted. When a fetch was retried,
    each page counts once, with the status of the latest report. Each platform's row carries
    `problem`: what a failure says (pages, page ids, why, the setting)."""
    import pandas as pd

    suite = "fetch_completeness"
    minimum = settings.min_page_completeness()
    frames = []
    if table_types(con, "ops.fetch_pages") is not None:
        frames.append(con.execute(
            """
            WITH latest AS (
                SELECT platform, page_id, status, reason FROM ops.fetch_pages WHERE run_id = ?
                QUALIFY row_number() OVER (
                    PARTITION BY platform, page_id
                    ORDER BY fetched_at DESC NULLS LAST, status = 'fetched' DESC,
                             report_file DESC) = 1
            )
            SELECT platform, count(*) FILTER (WHERE status <> 'gone') AS pages,
                   count(*) FILTER (WHERE status = 'fetched') AS fetched,
                   count(*) FILTER (WHERE status = 'gone') AS gone,
                   coalesce(count(*) FILTER (WHERE status = 'fetched')
                            / nullif(count(*) FILTER (WHERE status <> 'gone'), 0), 1.0)
                       AS completeness,
                   string_agg(page_id, ', ' ORDER BY page_id)
                       FILTER (WHERE status NOT IN ('fetched', 'gone')) AS missing_pages,
                   list(struct_pack(page_id, reason) ORDER BY page_id)
                       FILTER (WHERE status NOT IN ('fetched', 'gone')) AS examples
            FROM latest GROUP BY platform
            """,
            [run_id],
        ).df())
    reported = set(frames[0]["platform"]) if frames else set()
    silent = _unreported_platforms(con, run_id, period_start,
                                   [p for p in expected_platforms if p not in reported])
    if not silent.empty:
        frames.append(silent)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        return Job(suite, results=[skipped(
            suite, f"no connector fetched for run {run_id} (no platform has a token "
                   "configured, or the registry lists no pages of the configured ones)")])
    ids = _platform_page_ids(con)
    df["problem"] = [_completeness_problem(row, minimum, ids) for row in df.itertuples()]
    df = df.drop(columns="examples").sort_values("platform", ignore_index=True)
    return Job(
        suite,
        frames={vs.PLATFORMS_FRAME: Frame(df)},
        parameters={vs.MIN_PAGE_COMPLETENESS: minimum},
        index={vs.PLATFORMS_FRAME: ("problem",)},
    )


COMPLETENESS_EXAMPLES = 3  # pages named in a failure message
REASON_CHARS = 120  # of each example's reason


def _platform_page_ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Registry page_id -> the platform's own id of the page, to name pages in messages."""
    if table_types(con, "registry.pages") is None:
        return {}
    return dict(con.execute("SELECT page_id, any_value(platform_page_id) FROM registry.pages "
                            "GROUP BY page_id").fetchall())


def _completeness_problem(row: Any, minimum: float, ids: dict[str, str]) -> str:
    """What a platform's failing row says: pages not fetched of pages reachable, a few page
    ids with why, and what to change. Page ids and reasons only (reasons are redacted by the
    connectors and hold no tokens)."""
    missing = int(row.pages) - int(row.fetched)
    try:  # a numpy array of {page_id, reason}; NULL (None, NaN or NA) when none
        examples = [dict(e) for e in row.examples]
    except TypeError:
        examples = []
    if not examples and row.missing_pages:
        examples = [{"page_id": p, "reason": None} for p in str(row.missing_pages).split(", ")]
    shown = []
    for example in examples[:COMPLETENESS_EXAMPLES]:
        page_id, reason = example["page_id"], " ".join(str(example["reason"] or "").split())
        text = f"{page_id} ({row.platform} id {ids.get(page_id, '?')})"
        if reason:
            text += f": {reason[:REASON_CHARS]}"
        shown.append(text)
    more = len(examples) - len(shown)
    text = (f"{row.platform}: {missing} of {int(row.pages)} pages not fetched, completeness "
            f"{float(row.completeness):.2f} < GOVPULSE_MIN_PAGE_COMPLETENESS {minimum:g}: "
            + "; ".join(shown) + (f"; and {more} more" if more > 0 else ""))
    text += (". Fix the cause the reasons give (a refused token: renew the Airflow connection "
             f"govpulse_{row.platform} or GOVPULSE_{str(row.platform).upper()}_TOKEN; a spent "
             f"budget: raise GOVPULSE_{str(row.platform).upper()}_MAX_REQUESTS; rate limits or "
             "errors: wait) and re-run the week, or lower GOVPULSE_MIN_PAGE_COMPLETENESS")
    if int(getattr(row, "gone", 0) or 0):
        text += (f". {int(row.gone)} pages reported gone by the platform are not counted "
                 "(see the page_gone alerts: set their active_to in pages.csv)")
    return text


def _unreported_platforms(con: duckdb.DuckDBPyConnection, run_id: str, period_start: date,
                          expected: Sequence[str]) -> Any:
    """Rows (completeness 0) of the platforms a weekly run should have fetched but that landed
    no fetch report: a token is configured and the registry has active pages of them (the
    pages a fetch asks for: the connectors' own rule, fetch.ACTIVE_PAGES_SQL)."""
    import pandas as pd

    empty = pd.DataFrame()
    if table_types(con, "ops.runs") is None or table_types(con, "registry.pages") is None:
        return empty
    kind = first_row(con.execute("SELECT any_value(kind) FROM ops.runs WHERE run_id = ?",
                       [run_id]))[0]
    if kind != "weekly":  # only the weekly DAG fetches
        return empty
    from ingestion.connectors.fetch import ACTIVE_PAGES_SQL, active_pages_parameters
    from ingestion.connectors.native import Period

    if not expected:
        return empty
    return con.execute(
        f"""
        SELECT platform, count(*) AS pages, 0 AS fetched, 0 AS gone, 0.0 AS completeness,
               string_agg(page_id, ', ' ORDER BY page_id) AS missing_pages,
               list(struct_pack(page_id, reason := $why) ORDER BY page_id) AS examples
        FROM (SELECT DISTINCT platform, page_id FROM ({ACTIVE_PAGES_SQL}))
        GROUP BY platform ORDER BY platform
        """,
        {**active_pages_parameters(expected, Period(period_start)), "why": NO_REPORT},
    ).df()


NO_REPORT = ("its fetch landed no report: the fetch task failed before its first request "
             "(see the fetch task's log)")

