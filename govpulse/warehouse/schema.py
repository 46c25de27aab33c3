"""Connections to the private warehouse and the DDL of the tables the pipeline owns.

One process writes the warehouse at a time (DuckDB locks the file for every other process), so
every writer opens it here, does its work and closes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from govpulse.contract import DATASETS
from govpulse.settings import memory_limit
from govpulse.territory import DEFAULT_TIMEZONE

# The session zone when the caller names none: the default territory's (govpulse.territory). A
# run's landing connects with its territory's zone, which is how offset-less input timestamps
# are read as the territory's local time (CONTRACTS §3).
TIMEZONE = DEFAULT_TIMEZONE
# DuckDB's buffer limit for every warehouse connection (dbt's too, profiles.yml): beyond it,
# sorts, joins and aggregates spill to `<warehouse>.tmp/`, so a national week fits in a few GiB
# whatever the machine's RAM (DuckDB's own default is 80 % of it).

LINEAGE_COLUMNS = (
    ("_load_id", "BIGINT"),
    ("_run_id", "VARCHAR"),
    ("_file", "VARCHAR"),
    ("_line", "BIGINT"),
    ("_loaded_at", "TIMESTAMPTZ"),
)

# Great Expectations results of every validated run (govpulse.quality.validation.record).
VALIDATIONS_DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.validations (
    run_id VARCHAR, suite VARCHAR, expectation VARCHAR, column_name VARCHAR,
    success BOOLEAN, observed_value VARCHAR, details VARCHAR, validated_at TIMESTAMPTZ
);
"""

OPS_DDL = VALIDATIONS_DDL + """
CREATE SEQUENCE IF NOT EXISTS ops.load_id_seq START 1;
CREATE TABLE IF NOT EXISTS ops.runs (
    run_id VARCHAR PRIMARY KEY, kind VARCHAR, period_start DATE,
    started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR,
    rows_loaded JSON, rows_loaded_total BIGINT, rows_quarantined BIGINT,
    files_loaded INTEGER, files_skipped INTEGER, revision_published INTEGER, message VARCHAR
);
CREATE TABLE IF NOT EXISTS ops.quarantine (
    run_id VARCHAR, dataset VARCHAR, file VARCHAR, line BIGINT, reason VARCHAR,
    raw_row VARCHAR, quarantined_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS ops.loaded_files (
    file_hash VARCHAR, dataset VARCHAR, file VARCHAR, load_id BIGINT, run_id VARCHAR,
    rows_loaded BIGINT, rows_quarantined BIGINT, loaded_at TIMESTAMPTZ
);
-- record conservation (ingestion/records.py): the records the file holds, counted apart from
-- the reader, and how they were accounted for: 'balanced' (records = rows_loaded +
-- rows_quarantined), 'file quarantined' (one entry for the whole file, e.g. not UTF-8 or a
-- header that breaks the contract), 'mismatch' (the counts disagreed: the file was
-- quarantined whole and the run's raw validation fails); NULL for API captures
ALTER TABLE ops.loaded_files ADD COLUMN IF NOT EXISTS records BIGINT;
ALTER TABLE ops.loaded_files ADD COLUMN IF NOT EXISTS conservation VARCHAR;
"""

# One row per registry file per load: which registry (content hash) a run rated with.
REGISTRY_LOADS_DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.registry_loads (
    run_id VARCHAR, file VARCHAR, sha256 VARCHAR, rows BIGINT, loaded_at TIMESTAMPTZ
);
"""

# One row per native API response file written by a connector (see ingestion/connectors/native.py).
API_CAPTURES_DDL = """
CREATE TABLE IF NOT EXISTS raw.api_captures (
    platform VARCHAR, endpoint VARCHAR, page_id VARCHAR, platform_page_id VARCHAR,
    period_start DATE, captured_at TIMESTAMPTZ, request JSON, response JSON,
    _load_id BIGINT, _run_id VARCHAR, _file VARCHAR, _line BIGINT, _loaded_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS ops.fetch_pages (
    run_id VARCHAR, platform VARCHAR, period_start DATE, page_id VARCHAR, status VARCHAR,
    reason VARCHAR, report_file VARCHAR, fetched_at TIMESTAMPTZ
);
"""

# One row per alert about a run (kind `deadline_missed`: the week was not published by Friday
# 18:00 Asia/Almaty, METHODOLOGY §0; see govpulse/run/deadlines.py).
ALERTS_DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.alerts (
    run_id VARCHAR, kind VARCHAR, period_start DATE, deadline TIMESTAMPTZ,
    noticed_at TIMESTAMPTZ, message VARCHAR
);
"""


def raw_table_ddl(dataset: str) -> str:
    columns = [f'"{c.name}" {c.sql_type}' for c in DATASETS[dataset]]
    columns += [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS raw.{dataset} ({', '.join(columns)})"


@contextmanager
def connect(path: Path, read_only: bool = False,
            timezone: str = TIMEZONE) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse with the session settings every writer and reader shares; `timezone`
    (an IANA zone, the territory's) is the session's: offset-less timestamps are read in it."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": memory_limit()})
    try:
        quoted = timezone.replace("'", "''")  # DuckDB's SET takes no parameters
        con.execute(f"SET TimeZone = '{quoted}'")  # an unknown zone raises here
        yield con
    finally:
        con.close()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ops and raw tables if this is a new warehouse (idempotent)."""
    con.execute(OPS_DDL)
    con.execute(REGISTRY_LOADS_DDL)
    con.execute(ALERTS_DDL)
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for dataset in DATASETS:
        con.execute(raw_table_ddl(dataset))
    con.execute(API_CAPTURES_DDL)
