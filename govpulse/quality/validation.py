"""Validate every load before anything is published.

Great Expectations (GX Core 1.24) has no DuckDB datasource, so DuckDB computes small, bounded
pandas frames and GX validates those with the suites of `govpulse.quality.suites`:

* raw datasets: the table's schema (one row), a deterministic reservoir sample of at most
  `sample_rows` rows of the run (`USING SAMPLE reservoir(N ROWS) REPEATABLE (42)`), and one row
  of aggregates DuckDB computes over *all* rows of the run (null / unknown-enum / out-of-range /
  duplicate-key counts). GX never sees more than `sample_rows` rows of a table.
* candidate ratings of a run kind (weekly: the four weekly ratings; monthly: the incident
  rating; annual: the year's table): the table's schema, its rows of the period (one per unit,
  or per (group, unit) of a grouped rating), and one row per unit of "expected units ∪
  candidate units" with `missing` / `unexpected` / `penalty_mismatch` / `period_mismatch` flags
  (DuckDB aggregates; the weights come from `govpulse.methodology`). Expected units follow the
  rating's rule: registry units active in the week, bodies active in the month with enough
  incidents, units of the year's published weeks.

The warehouse is opened read-only, only while the frames are computed; `record()` opens it
read-write, separately, to append the results to `ops.validations`.
"""

from __future__ import annotations

import functools
import json
import logging
import numbers
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from govpulse import methodology, settings
from govpulse.quality import messages
from govpulse.quality import suites as vs
from govpulse.warehouse.schema import VALIDATIONS_DDL, memory_limit
from govpulse.warehouse.sql import first_row, ident

SAMPLE_ROWS = 100_000  # at most this many rows of a raw table per run reach GX
SAMPLE_SEED = 42
PENALTY_TOLERANCE = 1e-9  # relative, penalty_points vs Σ place × weight
PARTIAL_UNEXPECTED = 10  # unexpected values GX keeps per expectation (result_format SUMMARY)
OBSERVED_MAX_CHARS = 1000

def _limits() -> dict[str, Any]:
    """DuckDB's buffers, as the pipeline's writers (read when a connection opens)."""
    return {"memory_limit": memory_limit()}


SKIPPED = "suite_skipped"  # pseudo-expectation: raw dataset without rows in the run
TABLE_EXISTS = "table_exists"  # pseudo-expectation: candidate table missing
QUERY_FAILED = "query_failed"  # pseudo-expectation: DuckDB could not compute a frame
WEIGHTS_CONFIGURED = "weights_configured"  # pseudo-expectation: the rating has no weights
INPUTS_PRESENT = "inputs_present"  # pseudo-expectation: some unit has inputs (issue 14)

# rows of a frame are identified by these columns in the observed values (a job may override
# them: grouped ratings add their group column)
_INDEX_COLUMNS = {
    vs.COLUMN_TYPES: ("column_name",),
    vs.SAMPLE: ("_file", "_line"),
    vs.ROWS: ("unit_id",),
    vs.UNITS: ("unit_id", "penalty_points", "expected_penalty_points"),
    vs.PLATFORMS_FRAME: ("platform", "missing_pages"),
}

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpectationResult:
    suite: str
    expectation: str  # GX expectation type, or SKIPPED / TABLE_EXISTS / QUERY_FAILED
    column: str | None
    success: bool
    observed_value: str | None
    details: str | None = None  # JSON: frame, frame size, expectation kwargs
    # a failure in plain words, for the run's message (govpulse.quality.messages)
    explanation: str | None = None


@dataclass
class ValidationReport:
    success: bool
    results: list[ExpectationResult] = field(default_factory=list)
    stage: str = ""  # "raw" | "candidates"
    run_id: str = ""
    period_start: date | None = None
    validated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # GX ExpectationSuiteValidationResult per (suite, frame), suite name "<suite>.<frame>"
    # (govpulse.publish.data_docs stores them for the Data Docs; not recorded in ops.validations)
    gx_results: list[Any] = field(default_factory=list, repr=False)

    def failures(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success]

    def skipped(self) -> list[str]:
        return [r.suite for r in self.results if r.expectation == SKIPPED]

    def summary(self) -> str:
        checks = [r for r in self.results if r.expectation != SKIPPED]
        passed = sum(r.success for r in checks)
        text = f"{self.stage or 'validation'}: {passed}/{len(checks)} expectations passed"
        if skipped := self.skipped():
            text += f" ({len(skipped)} skipped, no rows in the run: {', '.join(skipped)})"
        if failures := self.failures():
            text += f"; {len(failures)} failed: " + "; ".join(
                f.explanation or _technical(f) for f in failures[:3])
            if len(failures) > 3:
                text += f"; and {len(failures) - 3} more in ops.validations"
            if advice := messages.advice(self.stage, {(f.suite, f.expectation)
                                                      for f in failures}):
                text += f". What to do: {advice}"
        return " ".join(text.split())


def _technical(f: ExpectationResult) -> str:
    column = f"({f.column})" if f.column else ""
    return (f"{messages.subject(f.suite)}: {f.expectation}{column} observed "
            f"{(f.observed_value or '')[:200]}")


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def validate_raw(
    warehouse: Path, run_id: str, period_start: date, *, sample_rows: int = SAMPLE_ROWS,
    rows_only: bool = False, expected_platforms: Sequence[str] = (),
) -> ValidationReport:
    """Validate the rows the run `run_id` loaded into the raw tables (and, unless `rows_only`,
    the completeness of its fetch). `expected_platforms` are those a weekly run had to fetch
    (a token is configured): one that landed no fetch report fails completeness."""
    sample_rows = int(sample_rows)
    if sample_rows < 1:
        raise ValueError("sample_rows must be positive")
    jobs: list[_Job] = []
    with duckdb.connect(str(warehouse), read_only=True, config=_limits()) as con:
        for dataset in vs.RAW_DATASETS.values():
            jobs.append(
                _guarded(dataset.suite,
                         functools.partial(_raw_job, con, dataset, run_id, sample_rows))
            )
        if not rows_only:
            jobs.append(_guarded("fetch_completeness",
                                 lambda: _completeness_job(con, run_id, period_start,
                                                            expected_platforms)))
        jobs.append(_guarded(CONSERVATION_SUITE, lambda: _conservation_job(con, run_id)))
    return _report("raw", run_id, period_start, jobs)


CONSERVATION_SUITE = "landing_conservation"
RECORDS_ACCOUNTED = "records_accounted_for"  # pseudo-expectation (issue 14)


def _conservation_job(con: duckdb.DuckDBPyConnection, run_id: str) -> _Job:
    """Every file the run landed accounts for its records: the records counted in the file
    apart from the reader = rows landed + rows quarantined (ingestion/records.py). Landing
    quarantines a file whose counts disagree whole; this fails the run so that nothing is
    published without it."""
    columns = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() "
        "WHERE schema_name = 'ops' AND table_name = 'loaded_files'").fetchall()}
    if "conservation" not in columns:  # no file was ever landed here
        return _Job(CONSERVATION_SUITE)
    checked, bad = first_row(con.execute(
        """
        SELECT count(*) FILTER (WHERE conservation IS NOT NULL),
               list([file, records::VARCHAR, rows_loaded::VARCHAR,
                     rows_quarantined::VARCHAR] ORDER BY file)
                   FILTER (WHERE conservation = 'mismatch'
                           OR (conservation = 'balanced'
                               AND records IS DISTINCT FROM rows_loaded + rows_quarantined))
        FROM ops.loaded_files WHERE run_id = ?
        """, [run_id]))
    bad = bad or []
    if not checked:
        return _Job(CONSERVATION_SUITE)  # the run landed no file: nothing to account for
    if not bad:
        return _Job(CONSERVATION_SUITE, results=[ExpectationResult(
            CONSERVATION_SUITE, RECORDS_ACCOUNTED, None, True,
            f"{checked} files: every record landed or quarantined")])
    shown = "; ".join(f"{file} holds {records or '?'} records" for file, records, _, _ in bad[:5])
    message = (
        f"{len(bad)} of {checked} files landed by this run hold records the reader did not "
        f"account for (records in the file <> rows landed + rows quarantined), so nothing is "
        f"published: {shown}{' ...' if len(bad) > 5 else ''}. Each file is quarantined whole "
        "with what was found (ops.quarantine); re-save it (CSV UTF-8) or export it again and "
        "drop it, or remove it from the inbox, then run again")
    return _failed(CONSERVATION_SUITE, RECORDS_ACCOUNTED, message, {
        "files": [{"file": f, "records": r, "rows_loaded": lo, "rows_quarantined": q}
                  for f, r, lo, q in bad[:20]]})


def _completeness_job(con: duckdb.DuckDBPyConnection, run_id: str, period_start: date,
                      expected_platforms: Sequence[str] = ()) -> _Job:
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
    if _table_types(con, "ops.fetch_pages") is not None:
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
        return _Job(suite, results=[_skipped(
            suite, f"no connector fetched for run {run_id} (no platform has a token "
                   "configured, or the registry lists no pages of the configured ones)")])
    ids = _platform_page_ids(con)
    df["problem"] = [_completeness_problem(row, minimum, ids) for row in df.itertuples()]
    df = df.drop(columns="examples").sort_values("platform", ignore_index=True)
    return _Job(
        suite,
        frames={vs.PLATFORMS_FRAME: _Frame(df)},
        parameters={vs.MIN_PAGE_COMPLETENESS: minimum},
        index={vs.PLATFORMS_FRAME: ("problem",)},
    )


COMPLETENESS_EXAMPLES = 3  # pages named in a failure message
REASON_CHARS = 120  # of each example's reason


def _platform_page_ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Registry page_id -> the platform's own id of the page, to name pages in messages."""
    if _table_types(con, "registry.pages") is None:
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
    if _table_types(con, "ops.runs") is None or _table_types(con, "registry.pages") is None:
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


def validate_candidates(
    warehouse: Path, run_id: str, period_start: date, kind: str = "weekly"
) -> ValidationReport:
    """Validate the candidate ratings of a run of `kind` (weekly | monthly | annual, as in
    ops.runs.kind) for the period starting `period_start`, before they are appended to the
    marts."""
    ratings = vs.ratings_of(kind)  # ValueError for an unknown kind, before opening anything
    jobs: list[_Job] = []
    with duckdb.connect(str(warehouse), read_only=True, config=_limits()) as con:
        for rating in ratings:
            jobs.append(
                _guarded(rating.suite, functools.partial(_candidate_job, con, rating, period_start))
            )
    return _report("candidates", run_id, period_start, jobs)


def record(warehouse: Path, report: ValidationReport) -> None:
    """Append the report's results to `ops.validations` (creates the table if missing)."""
    rows = [
        (
            report.run_id,
            r.suite,
            r.expectation,
            r.column,
            r.success,
            r.observed_value,
            r.details,
            report.validated_at,
        )
        for r in report.results
    ]
    with duckdb.connect(str(warehouse), config=_limits()) as con:
        con.execute(VALIDATIONS_DDL)
        if not rows:
            return
        con.execute("BEGIN TRANSACTION")
        con.executemany(
            "INSERT INTO ops.validations (run_id, suite, expectation, column_name, success, "
            "observed_value, details, validated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.execute("COMMIT")


# --------------------------------------------------------------------------------------------
# frames (DuckDB)
# --------------------------------------------------------------------------------------------
@dataclass
class _Frame:
    df: Any  # pandas.DataFrame
    info: dict[str, Any] = field(default_factory=dict)  # goes into `details`


@dataclass
class _Job:
    """A suite to run on its frames, or results decided without GX (skip / failure)."""

    suite: str
    frames: dict[str, _Frame] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    results: list[ExpectationResult] = field(default_factory=list)
    index: dict[str, tuple[str, ...]] = field(default_factory=dict)  # frame -> index columns


def _guarded(suite: str, build: Callable[[], _Job]) -> _Job:
    try:
        return build()
    except duckdb.Error as e:
        message = " ".join(str(e).split())
        if _private(suite):
            message = without_literals(message)
        message = message[:OBSERVED_MAX_CHARS]
        log.warning("validation suite %s: query failed: %s", suite, message)
        return _Job(suite, results=[ExpectationResult(suite, QUERY_FAILED, None, False, message)])




def _table_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    """column -> DuckDB type of a table or view, None if it does not exist."""
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    return dict(rows) if rows else None


def _schema_frames(types: dict[str, str], contract: tuple[vs.Col, ...]) -> dict[str, _Frame]:
    """The table's columns (one row, a column per table column) and the DuckDB types of its
    contract columns (one row per column)."""
    import pandas as pd

    names = [c.name for c in contract if c.name in types]
    return {
        vs.SCHEMA: _Frame(pd.DataFrame([types])),
        vs.COLUMN_TYPES: _Frame(
            pd.DataFrame({"column_name": names, "data_type": [types[n] for n in names]})
        ),
    }


def _raw_job(
    con: duckdb.DuckDBPyConnection, dataset: vs.RawDataset, run_id: str, sample_rows: int
) -> _Job:
    suite = dataset.suite
    types = _table_types(con, dataset.table)
    if types is None:
        return _Job(suite, results=[_skipped(suite, f"{dataset.table} does not exist")])

    # aggregates over all rows of the run
    selects, params = ["count(*) AS row_count"], list[Any]()
    for c in dataset.all_columns:
        if c.name not in types:
            continue  # the schema frame reports it; the frame column stays missing -> failure
        col = ident(c.name)
        if c.required:
            selects.append(f"count(*) - count({col}) AS {ident(vs.null_count(c.name))}")
        if c.values is not None:
            selects.append(
                f"count(*) FILTER (WHERE NOT list_contains(?::VARCHAR[], {col}::VARCHAR)) "
                f"AS {ident(vs.not_in_set_count(c.name))}"
            )
            params.append(list(c.values))
        if c.ranged:
            conditions = []
            if c.min is not None:
                conditions.append(f"TRY_CAST({col} AS DOUBLE) < ?")
                params.append(c.min)
            if c.max is not None:
                conditions.append(f"TRY_CAST({col} AS DOUBLE) > ?")
                params.append(c.max)
            selects.append(
                f"count(*) FILTER (WHERE {' OR '.join(conditions)}) "
                f"AS {ident(vs.out_of_range_count(c.name))}"
            )
        if vs.is_event_time(c):
            selects.append(
                f"count(*) FILTER (WHERE {col} > now() + INTERVAL "
                f"{int(vs.FUTURE_TOLERANCE_DAYS)} DAY) AS {ident(vs.future_count(c.name))}"
            )
    if all(k in types for k in vs.RAW_KEY):
        key = ", ".join(ident(k) for k in vs.RAW_KEY)
        selects.append(f"count(*) - count(DISTINCT ({key})) AS {ident(vs.KEY_DUPLICATE_COUNT)}")
    totals = con.execute(
        f"SELECT {', '.join(selects)} FROM {dataset.table} WHERE _run_id = ?", [*params, run_id]
    ).df()
    run_rows = int(totals["row_count"].iloc[0])
    if run_rows == 0:
        return _Job(suite, results=[_skipped(suite, f"{dataset.table}: no rows for run {run_id}")])

    # deterministic sample of the run's rows, only the columns the sample expectations need.
    # The sample size cannot be a bound parameter in DuckDB ("Only constants are supported in
    # sample clause"); it is an int we control. USING SAMPLE must sit outside the subquery that
    # filters the run (otherwise DuckDB samples before WHERE). The sample runs single-threaded
    # because DuckDB only promises repeatable results (REPEATABLE seed) without parallelism.
    wanted = [*_INDEX_COLUMNS[vs.SAMPLE], *vs.RAW_KEY]
    wanted += [c.name for c in dataset.all_columns if c.values is not None or c.ranged]
    columns = ", ".join(ident(c) for c in dict.fromkeys(wanted) if c in types)
    order = ", ".join(ident(c) for c in (*vs.RAW_KEY, "_file") if c in types) or "1"
    con.execute("SET threads = 1")
    try:
        sample = con.execute(
            f"SELECT * FROM (SELECT {columns} FROM "
            f"(SELECT {columns} FROM {dataset.table} WHERE _run_id = ?) "
            f"USING SAMPLE reservoir({int(sample_rows)} ROWS) REPEATABLE ({SAMPLE_SEED})) "
            f"ORDER BY {order}",
            [run_id],
        ).df()
    finally:
        con.execute("RESET threads")
    return _Job(
        suite,
        frames={
            **_schema_frames(types, dataset.all_columns),
            vs.SAMPLE: _Frame(sample, {"run_rows": run_rows, "sample_limit": sample_rows}),
            vs.RUN_TOTALS: _Frame(totals, {"run_rows": run_rows}),
        },
    )


def _active_units_sql(rating: vs.Rating) -> str:
    """Units of the rating active during the period (METHODOLOGY §0 Participation)."""
    entities = (
        "SELECT entity_id, level FROM registry.entities "
        "WHERE (valid_from IS NULL OR valid_from < $period_end) "
        "AND (valid_to IS NULL OR valid_to >= $period_start)"
    )
    if rating.entity_level is not None:
        return f"SELECT DISTINCT entity_id AS unit_id FROM ({entities}) WHERE level = $entity_level"
    platform = "AND p.platform = $page_platform " if rating.page_platform else ""
    return (
        f"SELECT DISTINCT p.page_id AS unit_id FROM registry.pages p "
        f"JOIN ({entities}) e ON e.entity_id = p.entity_id "
        f"WHERE p.page_kind = $page_kind {platform}"
        "AND (p.active_from IS NULL OR p.active_from < $period_end) "
        "AND (p.active_to IS NULL OR p.active_to >= $period_start)"
    )


def _expected_units_sql(rating: vs.Rating) -> tuple[str, dict[str, Any]]:
    """SQL of the (unit_group, unit_id) the candidate of the period must hold (NULL unit_group
    for an ungrouped rating), and the parameters it needs beyond $period_start / $period_end."""
    if rating.unit_rule == vs.REGISTRY_UNITS:
        params: dict[str, Any] = {}
        if rating.entity_level is not None:
            params["entity_level"] = rating.entity_level
        else:
            params["page_kind"] = rating.page_kind
            if rating.page_platform:
                params["page_platform"] = rating.page_platform
        return f"SELECT NULL AS unit_group, unit_id FROM ({_active_units_sql(rating)})", params
    if rating.unit_rule == vs.INCIDENT_BODIES:
        parameters = methodology.parameters()
        return _incident_bodies_sql(), {
            "incident_min_count": int(parameters.get("incident_min_count", 2)),
            "timezone": parameters.get("timezone", "Asia/Almaty"),
        }
    if rating.unit_rule == vs.WEEKLY_MART_UNITS:
        return _weekly_mart_units_sql(), {}
    raise ValueError(f"{rating.suite}: unknown unit rule {rating.unit_rule!r}")


def _incident_bodies_sql() -> str:
    """Bodies of the monthly incident rating (METHODOLOGY §5): registry entities active in the
    month that received at least $incident_min_count incidents of the month, in their group."""
    # registry.entities may list an entity on several lines (name history): DISTINCT entity_id.
    # The month is filtered again in local time, so the check holds even if the intermediate
    # table ever keeps more than one month.
    return """
        WITH month AS (
            SELECT body_id, coalesce(nullif(trim(body_group), ''), 'municipal') AS body_group,
                   incident_id
            FROM intermediate.int_incidents_month
            WHERE timezone($timezone, detected_at) >= $period_start::TIMESTAMP
              AND timezone($timezone, detected_at) < $period_end::TIMESTAMP
        ),
        enough AS (
            SELECT body_id FROM month GROUP BY body_id
            HAVING count(DISTINCT incident_id) >= $incident_min_count
        ),
        active AS (
            SELECT DISTINCT entity_id FROM registry.entities
            WHERE (valid_from IS NULL OR valid_from < $period_end)
              AND (valid_to IS NULL OR valid_to >= $period_start)
        )
        SELECT DISTINCT m.body_group AS unit_group, m.body_id AS unit_id
        FROM month m
        WHERE m.body_id IN (SELECT body_id FROM enough)
          AND m.body_id IN (SELECT entity_id FROM active)
    """


def _weekly_mart_units_sql() -> str:
    """Units of the annual table (METHODOLOGY §7): every (rating, unit) of a published week of
    the year (latest revisions: the weekly marts' current views)."""
    return " UNION ".join(
        f"SELECT '{key}' AS unit_group, unit_id FROM marts.rating_{key}_weekly_current "
        "WHERE period_start >= $period_start AND period_start < $period_end"
        for key in vs.WEEKLY_RATINGS
    )


def _candidate_job(con: duckdb.DuckDBPyConnection, rating: vs.Rating, period_start: date) -> _Job:
    suite = rating.suite
    types = _table_types(con, rating.table)
    if types is None:
        return _failed(
            suite,
            TABLE_EXISTS,
            f"candidate table {rating.table} does not exist",
            {"table": rating.table},
        )
    # a rating without configured weights cannot be checked (nor computed by dbt)
    weights = methodology.parameters().get("weights", {}).get(rating.weights)
    if not weights:
        return _failed(
            suite,
            WEIGHTS_CONFIGURED,
            f"no weights for rating {rating.key!r} in dbt_project.yml vars.methodology.weights",
            {"rating": rating.key},
        )
    interval = vs.PERIOD_INTERVALS[rating.period]
    # DuckDB's date arithmetic, the same the dbt models and the period_mismatch flag use
    period_end = first_row(con.execute(f"SELECT (?::DATE + {interval})::DATE", [period_start]))[0]

    def col(name: str) -> str:
        # a column the table lacks is NULL here (the schema frame reports it)
        return ident(name) if name in types else "NULL"

    group = f"{col(rating.group)}::VARCHAR" if rating.group else "NULL::VARCHAR"
    order = ", ".join(ident(c) for c in rating.unit_key if c in types) or "1"
    rows = con.execute(
        f"SELECT * FROM {rating.table} WHERE period_start = ? ORDER BY {order}", [period_start]
    ).df()

    expected_sql, params = _expected_units_sql(rating)
    params |= {"period_start": period_start, "period_end": period_end}
    terms = []
    for i, (indicator, weight) in enumerate(weights.items()):
        place = f"place_{indicator}"
        if place not in types:
            terms.append("NULL")
            continue
        term = f"TRY_CAST({ident(place)} AS DOUBLE) * $w{i}"
        if indicator in rating.optional_places:
            term = f"coalesce({term}, 0)"  # no place (no values in the group) adds nothing
        terms.append(term)
        params[f"w{i}"] = float(weight)
    expected = " + ".join(terms) or "NULL"
    penalty = "TRY_CAST(penalty_points AS DOUBLE)" if "penalty_points" in types else "NULL"

    # period_end = period_start + 1 period; a month / year also starts on its first day
    aligned = ""
    if rating.period != "week":
        aligned = f" AND period_start = date_trunc('{rating.period}', period_start)::DATE"
    period_flag = (
        f"CASE WHEN TRY_CAST(period_end AS DATE) = (period_start + {interval})::DATE{aligned} "
        "THEN 0 ELSE 1 END"
    )

    # flags of grouped ratings / optional places, computed over the candidate rows
    over = f"OVER (PARTITION BY {group})" if rating.group else "OVER ()"
    cand_extra, units_extra = [], []
    if rating.group:
        places = [f"place_{c.name}" for c in rating.indicators] + ["final_place"]
        present = [f"TRY_CAST({ident(p)} AS BIGINT)" for p in places if p in types]
        max_place = f"greatest({', '.join(present)})" if present else "NULL"
        cand_extra += [f"count(*) {over} AS group_units", f"{max_place} AS max_place"]
        units_extra += [
            "CASE WHEN c.in_rating IS NULL OR c.max_place <= c.group_units THEN 0 ELSE 1 END "
            "AS place_beyond_group",
            "c.group_units",
            "c.max_place",
        ]
    if rating.optional_places:
        # the place is NULL exactly when no unit of the group has a value (§0: NULLs rank last)
        conditions = [
            f"(({col('place_' + i)}) IS NULL) = (count({col(i)}) {over} = 0)"
            for i in rating.optional_places
        ]
        cand_extra.append(
            f"CASE WHEN {' AND '.join(conditions)} THEN 0 ELSE 1 END AS place_null_mismatch"
        )
        units_extra.append("coalesce(c.place_null_mismatch, 0) AS place_null_mismatch")
    group_out = ""
    if rating.group:
        group_out = f"coalesce(c.unit_group, e.unit_group) AS {ident(rating.group)}, "
    params["tolerance"] = PENALTY_TOLERANCE
    units = con.execute(
        f"""
        WITH expected AS (
            SELECT DISTINCT unit_group::VARCHAR AS unit_group, unit_id::VARCHAR AS unit_id,
                   TRUE AS is_expected
            FROM ({expected_sql})
        ),
        cand AS (
            SELECT {group} AS unit_group, unit_id::VARCHAR AS unit_id, TRUE AS in_rating,
                   {penalty} AS penalty_points,
                   {expected} AS expected_penalty_points,
                   {period_flag} AS period_mismatch
                   {"".join(", " + e for e in cand_extra)}
            FROM {rating.table} WHERE period_start = $period_start
        )
        SELECT {group_out}coalesce(c.unit_id, e.unit_id) AS unit_id,
               CASE WHEN e.is_expected AND c.in_rating IS NULL THEN 1 ELSE 0 END AS missing,
               CASE WHEN c.in_rating AND e.is_expected IS NULL THEN 1 ELSE 0 END AS unexpected,
               CASE WHEN c.in_rating IS NULL THEN 0
                    WHEN abs(c.penalty_points - c.expected_penalty_points)
                         <= $tolerance * greatest(1, abs(c.expected_penalty_points)) THEN 0
                    ELSE 1 END AS penalty_mismatch,
               c.penalty_points, c.expected_penalty_points,
               coalesce(c.period_mismatch, 0) AS period_mismatch
               {"".join(", " + e for e in units_extra)}
        FROM expected e FULL OUTER JOIN cand c
            ON e.unit_id = c.unit_id AND e.unit_group IS NOT DISTINCT FROM c.unit_group
        ORDER BY {"1 NULLS FIRST, " if rating.group else ""}unit_id NULLS FIRST
        """,
        params,
    ).df()

    # places run up to the size of the (largest) group; a rating with no units still needs 1
    unit_count = len(rows)
    if rating.group and rating.group in rows.columns and len(rows):
        unit_count = int(rows.groupby(rating.group, dropna=False).size().max())
    info: dict[str, Any] = {"period_end": period_end.isoformat()}
    if "incident_min_count" in params:
        info["incident_min_count"] = params["incident_min_count"]
    return _Job(
        suite,
        frames={
            **_schema_frames(types, rating.columns),
            vs.ROWS: _Frame(rows),
            vs.UNITS: _Frame(units, info),
        },
        parameters={vs.UNIT_COUNT: max(unit_count, 1)},
        index={
            vs.ROWS: rating.unit_key,
            vs.UNITS: (*rating.unit_key, "penalty_points", "expected_penalty_points"),
        },
        results=[_inputs_present(con, rating, types, period_start, period_end)],
    )


def _inputs_present(con: duckdb.DuckDBPyConnection, rating: vs.Rating, types: dict[str, str],
                    period_start: date, period_end: date) -> ExpectationResult:
    """A rating whose every unit has no input (every indicator 0 or NULL) rates nothing: the
    period's exports are missing (or not over). Zeros of some units are legitimate; a rating
    without units (none active in the registry) is not this check's business; a month
    without a body with enough incidents is legitimate unless it has no incidents at all."""
    empty = vs.EMPTY_INPUTS.get(rating.key)
    if empty is None:  # the annual table rates published weeks (start_run requires some)
        return ExpectationResult(rating.suite, INPUTS_PRESENT, None, True, "not applicable")
    some = " OR ".join(f"coalesce(TRY_CAST({ident(c.name)} AS DOUBLE), 0) <> 0"
                       for c in rating.indicators if c.name in types) or "FALSE"
    units, with_inputs = first_row(con.execute(
        f"SELECT count(*), count(*) FILTER ({some}) FROM {rating.table} WHERE period_start = ?",
        [period_start]))
    period = (f"week {period_start}" if rating.period == "week"
              else f"month {period_start:%Y-%m}")
    if rating.unit_rule == vs.INCIDENT_BODIES and not units:
        # no body rated: only a month with no incident at all is missing its input
        timezone = methodology.parameters().get("timezone", "Asia/Almaty")
        incidents = first_row(con.execute(
            "SELECT count(*) FROM intermediate.int_incidents_month "
            "WHERE timezone(?, detected_at) >= ?::TIMESTAMP "
            "AND timezone(?, detected_at) < ?::TIMESTAMP",
            [timezone, period_start, timezone, period_end]))[0]
        observed = f"{incidents} incidents of {period_start:%Y-%m}"
        blocked = not incidents
    else:
        observed = f"{with_inputs} of {units} {empty.units} have {empty.has}"
        blocked = units and not with_inputs
    if not blocked:
        return ExpectationResult(rating.suite, INPUTS_PRESENT, None, True, observed)
    message = (f"{empty.rating} of {period}: {empty.missing} ({observed}); "
               f"{empty.fix.format(period=rating.period)}")
    return ExpectationResult(
        rating.suite, INPUTS_PRESENT, None, False, message,
        json.dumps({"period_end": period_end.isoformat(), "units": units,
                    "units_with_inputs": with_inputs}), explanation=message)


def _failed(suite: str, expectation: str, message: str, details: dict[str, Any]) -> _Job:
    """A suite that failed before GX could run (no table, no weights): its message is written
    to be read as it is, so it is the explanation too."""
    return _Job(suite, results=[ExpectationResult(
        suite, expectation, None, False, message, json.dumps(details),
        explanation=f"{messages.subject(suite)}: {message}")])


def _skipped(suite: str, why: str) -> ExpectationResult:
    return ExpectationResult(suite, SKIPPED, None, True, "0 rows", why)


# --------------------------------------------------------------------------------------------
# GX
# --------------------------------------------------------------------------------------------
@functools.cache
def _gx() -> tuple[Any, Any]:
    """(gx module, whole-dataframe batch definition of an ephemeral context), imported lazily."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("govpulse_frames").add_dataframe_asset("frame")
    return gx, asset.add_batch_definition_whole_dataframe("whole_frame")


def _report(stage: str, run_id: str, period_start: date, jobs: list[_Job]) -> ValidationReport:
    results: list[ExpectationResult] = []
    gx_results: list[Any] = []
    for job in jobs:
        results += job.results
        if job.frames:
            results += _run_suite(job, gx_results)
    return ValidationReport(
        success=all(r.success for r in results),
        results=results,
        stage=stage,
        run_id=run_id,
        period_start=period_start,
        gx_results=gx_results,
    )


@functools.cache
def _suite_expectations(suite: str) -> tuple[dict, ...]:
    """The suite's expectation configurations (JSON), in suite order."""
    expectations = vs.SUITES[suite]().to_json_dict()["expectations"]
    assert isinstance(expectations, list)
    return tuple(e for e in expectations if isinstance(e, dict))


def _run_suite(job: _Job, gx_results: list[Any]) -> list[ExpectationResult]:
    """Validate the job's frames; append GX's result of each frame to `gx_results`."""
    gx, batch_definition = _gx()
    out: list[ExpectationResult] = []
    for frame_name, frame in job.frames.items():
        # a sub-suite per frame; `position` restores suite order (GX reorders results)
        expectations = [
            {
                **{k: v for k, v in e.items() if k != "id"},
                "meta": {**e["meta"], "position": i},
            }
            for i, e in enumerate(_suite_expectations(job.suite))
            if e["meta"].get("frame") == frame_name
        ]
        if not expectations:
            continue
        result_format: dict[str, Any] = {
            "result_format": "SUMMARY",
            "partial_unexpected_count": PARTIAL_UNEXPECTED,
        }
        columns = job.index.get(frame_name, _INDEX_COLUMNS.get(frame_name, ()))
        index = [c for c in columns if c in frame.df.columns]
        if index:
            result_format["unexpected_index_column_names"] = index
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame.df})
            validation = batch.validate(
                gx.ExpectationSuite(name=f"{job.suite}.{frame_name}", expectations=expectations),
                result_format=result_format,
                expectation_parameters=job.parameters,
            )
        gx_results.append(validation)
        info = {"frame": frame_name, "frame_rows": len(frame.df), **frame.info}
        for r in sorted(validation.results, key=lambda r: r.expectation_config.meta["position"]):
            out.append(_result(job.suite, r, info))
    return out


def _result(suite: str, r: Any, info: dict[str, Any]) -> ExpectationResult:
    config = r.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    column = kwargs.get("column")
    if column is None and kwargs.get("column_list"):
        column = ",".join(kwargs["column_list"])
    columns = {kwargs.get("column"), *(kwargs.get("column_list") or [])}
    success = bool(r.success)
    return ExpectationResult(
        suite=suite,
        expectation=config.type,
        column=column,
        success=success,
        observed_value=_observed(r, _private(suite), bool(columns & vs.PRIVATE_COLUMNS)),
        details=_json({**info, "kwargs": kwargs}),
        explanation=None if success else messages.explain(
            suite, getattr(config, "description", None), r.result or {},
            (r.result or {}).get("unexpected_index_column_names"), config.type, kwargs),
    )


def _private(suite: str) -> bool:
    """Raw suites see rows of raw input: any string in them may be a private person's id,
    name or text (a shifted column puts an author id into `author_type`)."""
    return suite in vs.RAW_DATASETS


def _observed(r: Any, raw: bool = False, private_column: bool = False) -> str:
    """What GX observed, for ops.validations (published): counts and, as examples, the values
    of up to 5 offending rows. Raw suites and private columns (see `_example`) keep the
    counts and where the rows are (`_file`, `_line`), not their text."""
    errors = [
        e.get("exception_message")
        for e in _exception_infos(r.exception_info)
        if e.get("raised_exception")
    ]
    if errors:
        text = "error: " + "; ".join(dict.fromkeys(str(e) for e in errors))
        return _clip(without_literals(text) if raw or private_column else text)
    result = r.result or {}
    if "unexpected_count" in result:
        text = f"{result['unexpected_count']} of {result.get('element_count')} unexpected"
        if result.get("unexpected_index_column_names"):
            examples = result.get("partial_unexpected_index_list")
        else:
            examples = result.get("partial_unexpected_list")
        if result["unexpected_count"] and examples:
            shown = [_example(e, raw or private_column) for e in examples[:5]]
            text += ": " + _json(shown)
        return _clip(text)
    if "observed_value" in result:
        mismatched = (result.get("details") or {}).get("mismatched")
        return _clip(_json(mismatched) if mismatched else _json(result["observed_value"]))
    return _clip(_json(result)) if result else ""


WITHHELD = "(withheld)"  # a raw value that may identify a person
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_LINEAGE_KEYS = frozenset({"_file", "_line", "_load_id"})  # where an offending row is


def _example(value: Any, withhold: bool) -> Any:
    """One offending value or row for ops.validations. Private columns are dropped from rows;
    with `withhold`, strings are replaced (numbers, e.g. a negative count, say what is wrong
    without saying who), and the lineage columns `_file` / `_line` stay to find the row."""
    if isinstance(value, dict):
        return {k: (v if k in _LINEAGE_KEYS else _example(v, withhold))
                for k, v in value.items() if k not in vs.PRIVATE_COLUMNS}
    if not withhold or value is None or isinstance(value, numbers.Real):  # numpy too
        return value
    return WITHHELD


def without_literals(text: str) -> str:
    """An error message without its quoted values (DuckDB and GX quote the values they could
    not read: "Could not convert string 'Иван' to INT64")."""
    return _LITERAL.sub("'…'", text)


def _exception_infos(info: Any) -> list[dict]:
    if not isinstance(info, dict):
        return []
    if "raised_exception" in info:
        return [info]
    return [v for v in info.values() if isinstance(v, dict)]


def _json(value: Any) -> str:
    def default(o: Any) -> Any:
        if hasattr(o, "item"):  # numpy / pandas scalars
            return o.item()
        if hasattr(o, "isoformat"):
            return o.isoformat()
        return str(o)

    return json.dumps(value, default=default, ensure_ascii=False)


def _clip(text: str) -> str:
    return text if len(text) <= OBSERVED_MAX_CHARS else text[: OBSERVED_MAX_CHARS - 1] + "…"
