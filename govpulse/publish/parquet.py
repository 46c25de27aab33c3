"""Parquet copies of the published rating histories, for BI tools without a DuckDB driver.

After each publication, every rating history table of `marts` (all revisions) is written to
`<publish-dir>/parquet/<relation>/period_start=YYYY-MM-DD/*.parquet` from the published file, so
the Parquet always matches it. Each relation is written into a hidden temporary folder first and
then swapped into place (an atomic exchange on Linux, two renames elsewhere): a reader lists
either the previous complete folder or the new complete one, never a half-written one. The files
also carry `period_start` itself (typed DATE), so a tool that reads one file without Hive
partitioning still has it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from govpulse.publish.folders import replace_folder
from govpulse.ratings import catalogue
from govpulse.warehouse.sql import ident, literal

PARQUET_DIR = "parquet"
# The revisioned rating histories (every revision, never rewritten): every rating of the
# catalogue, and the histories beside them that are no rating.
HISTORY_TABLES = (
    *(r.history for r in catalogue().values()),
    "incident_stats_monthly",
    "fakes_monthly",  # the fakes report (METHODOLOGY §8) and its lists
    "fakes_unrefuted_monthly",
    "fakes_by_body_monthly",
    "rating_people_weekly_exclusions",
    "withdrawals",  # withdrawn publications (govpulse withdraw): what the histories still hold
)






def history_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The rating history tables present in the connected file's `marts` (with period_start)."""
    names = ", ".join(literal(n) for n in HISTORY_TABLES)
    return [
        row[0]
        for row in con.execute(
            f"""
            SELECT t.table_name FROM duckdb_tables() t
            WHERE t.database_name = current_database() AND t.schema_name = 'marts'
              AND t.table_name IN ({names})
              AND EXISTS (SELECT 1 FROM duckdb_columns() c
                          WHERE c.database_name = t.database_name
                            AND c.schema_name = t.schema_name
                            AND c.table_name = t.table_name
                            AND c.column_name = 'period_start')
            ORDER BY t.table_name
            """
        ).fetchall()
    ]


def export_parquet(published_file: Path, out_dir: Path | None = None) -> dict[str, Path]:
    """Write the Parquet folders of every rating history of `published_file`; return them."""
    out_dir = out_dir or published_file.parent / PARQUET_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with duckdb.connect(str(published_file), read_only=True) as con:
        for name in history_tables(con):
            written[name] = _export_relation(con, name, out_dir)
    return written


def _export_relation(con: duckdb.DuckDBPyConnection, name: str, out_dir: Path) -> Path:
    final = out_dir / name
    tmp = out_dir / f".{name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    order = _order_by(con, name)
    con.execute(
        f"COPY (SELECT * FROM marts.{ident(name)} ORDER BY {order}) TO {literal(str(tmp))} "
        "(FORMAT parquet, PARTITION_BY (period_start), WRITE_PARTITION_COLUMNS true, "
        "COMPRESSION zstd)"
    )
    tmp.mkdir(exist_ok=True)  # an empty history writes no file: publish an empty folder
    replace_folder(tmp, final)
    return final


def _order_by(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """Rows in a stable order inside each file: revision, then the remaining key columns."""
    columns = [
        row[0]
        for row in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = 'marts' AND table_name = ? ORDER BY column_index",
            [name],
        ).fetchall()
    ]
    keys = [c for c in ("period_start", "revision", "unit_id", "year", "rating") if c in columns]
    return ", ".join(ident(c) for c in keys) or "ALL"
