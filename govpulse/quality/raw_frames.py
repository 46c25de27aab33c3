"""The frames of the raw suites (DuckDB), and the landing's conservation check.

Per raw dataset: the table's schema, a deterministic reservoir sample of at most
`sample_rows` rows of the run, and one row of aggregates over *all* rows of the run
(null / unknown-enum / out-of-range / future / duplicate-key counts). GX never sees more than
`sample_rows` rows of a table.
"""

from __future__ import annotations

from typing import Any

import duckdb

from govpulse.quality import suites as vs
from govpulse.quality.jobs import (
    INDEX_COLUMNS,
    Frame,
    Job,
    failed,
    schema_frames,
    skipped,
    table_types,
)
from govpulse.quality.report import RECORDS_ACCOUNTED, ExpectationResult
from govpulse.warehouse.sql import first_row, ident

SAMPLE_ROWS = 100_000  # at most this many rows of a raw table per run reach GX
SAMPLE_SEED = 42


def raw_job(
    con: duckdb.DuckDBPyConnection, dataset: vs.RawDataset, run_id: str, sample_rows: int
) -> Job:
    """The dataset's frames of the run: schema, sample, run totals (skipped without rows)."""
    suite = dataset.suite
    types = table_types(con, dataset.table)
    if types is None:
        return Job(suite, results=[skipped(suite, f"{dataset.table} does not exist")])
    totals = _run_totals(con, dataset, types, run_id)
    run_rows = int(totals["row_count"].iloc[0])
    if run_rows == 0:
        return Job(suite, results=[skipped(suite, f"{dataset.table}: no rows for run {run_id}")])
    sample = _sample(con, dataset, types, run_id, sample_rows)
    return Job(
        suite,
        frames={
            **schema_frames(types, dataset.all_columns),
            vs.SAMPLE: Frame(sample, {"run_rows": run_rows, "sample_limit": sample_rows}),
            vs.RUN_TOTALS: Frame(totals, {"run_rows": run_rows}),
        },
    )


def _run_totals(con: duckdb.DuckDBPyConnection, dataset: vs.RawDataset, types: dict[str, str],
                run_id: str) -> Any:
    """One row of aggregates over all rows of the run: row_count and, per contract column,
    the counts its run-totals expectations check (named by `suites`)."""
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
    return con.execute(
        f"SELECT {', '.join(selects)} FROM {dataset.table} WHERE _run_id = ?", [*params, run_id]
    ).df()


def _sample(con: duckdb.DuckDBPyConnection, dataset: vs.RawDataset, types: dict[str, str],
            run_id: str, sample_rows: int) -> Any:
    """A deterministic sample of the run's rows, only the columns the sample expectations
    need (lineage, key, enum and ranged columns)."""
    # The sample size cannot be a bound parameter in DuckDB ("Only constants are supported in
    # sample clause"); it is an int we control. USING SAMPLE must sit outside the subquery that
    # filters the run (otherwise DuckDB samples before WHERE). The sample runs single-threaded
    # because DuckDB only promises repeatable results (REPEATABLE seed) without parallelism.
    wanted = [*INDEX_COLUMNS[vs.SAMPLE], *vs.RAW_KEY]
    wanted += [c.name for c in dataset.all_columns if c.values is not None or c.ranged]
    columns = ", ".join(ident(c) for c in dict.fromkeys(wanted) if c in types)
    order = ", ".join(ident(c) for c in (*vs.RAW_KEY, "_file") if c in types) or "1"
    con.execute("SET threads = 1")
    try:
        return con.execute(
            f"SELECT * FROM (SELECT {columns} FROM "
            f"(SELECT {columns} FROM {dataset.table} WHERE _run_id = ?) "
            f"USING SAMPLE reservoir({int(sample_rows)} ROWS) REPEATABLE ({SAMPLE_SEED})) "
            f"ORDER BY {order}",
            [run_id],
        ).df()
    finally:
        con.execute("RESET threads")


CONSERVATION_SUITE = "landing_conservation"


def conservation_job(con: duckdb.DuckDBPyConnection, run_id: str) -> Job:
    """Every file the run landed accounts for its records: the records counted in the file
    apart from the reader = rows landed + rows quarantined (ingestion/records.py). Landing
    quarantines a file whose counts disagree whole; this fails the run so that nothing is
    published without it."""
    columns = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() "
        "WHERE schema_name = 'ops' AND table_name = 'loaded_files'").fetchall()}
    if "conservation" not in columns:  # no file was ever landed here
        return Job(CONSERVATION_SUITE)
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
        return Job(CONSERVATION_SUITE)  # the run landed no file: nothing to account for
    if not bad:
        return Job(CONSERVATION_SUITE, results=[ExpectationResult(
            CONSERVATION_SUITE, RECORDS_ACCOUNTED, None, True,
            f"{checked} files: every record landed or quarantined")])
    shown = "; ".join(f"{file} holds {records or '?'} records" for file, records, _, _ in bad[:5])
    message = (
        f"{len(bad)} of {checked} files landed by this run hold records the reader did not "
        f"account for (records in the file <> rows landed + rows quarantined), so nothing is "
        f"published: {shown}{' ...' if len(bad) > 5 else ''}. Each file is quarantined whole "
        "with what was found (ops.quarantine); re-save it (CSV UTF-8) or export it again and "
        "drop it, or remove it from the inbox, then run again")
    return failed(CONSERVATION_SUITE, RECORDS_ACCOUNTED, message, {
        "files": [{"file": f, "records": r, "rows_loaded": lo, "rows_quarantined": q}
                  for f, r, lo, q in bad[:20]]})
