"""Publish the marts and ops of the private warehouse as a read-only file for analysts and BI.

The copy is written next to the target under a temporary name and renamed over it: readers that
hold the old file keep reading it, new readers see the new one, nobody sees half of it. The file
uses DuckDB's v1.4 storage format so BI drivers bundling older DuckDB can open it. The dbt docs
descriptions, which dbt stores as DuckDB comments in the private warehouse (`persist_docs`), are
carried over to the copy, so a BI tool browsing the catalog sees what each table and column means.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ingestion.warehouse import memory_limit

STORAGE_VERSION = "v1.4.0"
PUBLISHED_SCHEMAS = ("marts", "ops")
# Raw rows may carry private persons' ids and texts: the published quarantine keeps file, line
# and reason only (the full row stays in the private warehouse).
REDACTED_COLUMNS = {("ops", "quarantine"): ("raw_row",)}


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def publish(warehouse: Path, target: Path) -> Path:
    """Write `target` atomically from the private warehouse; return its path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect(config={"memory_limit": memory_limit()})
    try:
        con.execute(f"ATTACH {_literal(str(warehouse))} AS src (READ_ONLY)")
        con.execute(f"ATTACH {_literal(str(tmp))} AS pub (STORAGE_VERSION '{STORAGE_VERSION}')")
        _copy(con, catalog=warehouse.stem)
        con.execute("USE memory")
        con.execute("DETACH pub")
    finally:
        con.close()
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return target


def _copy(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    relations = con.execute(
        """
        SELECT schema_name, table_name, 'table' AS kind, NULL AS sql FROM duckdb_tables()
        WHERE database_name = 'src' AND schema_name IN ('marts', 'ops')
        UNION ALL
        SELECT schema_name, view_name, 'view', sql FROM duckdb_views()
        WHERE database_name = 'src' AND schema_name IN ('marts', 'ops') AND NOT internal
        ORDER BY kind, schema_name, table_name
        """
    ).fetchall()
    for schema in PUBLISHED_SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS pub.{schema}")
    for schema, name, kind, _ in relations:
        if kind != "table":
            continue
        redacted = REDACTED_COLUMNS.get((schema, name), ())
        replace = ", ".join(f"NULL AS {_ident(c)}" for c in redacted)
        columns = f"* REPLACE ({replace})" if replace else "*"
        con.execute(
            f"CREATE TABLE pub.{schema}.{_ident(name)} AS "
            f"SELECT {columns} FROM src.{schema}.{_ident(name)}"
        )
    # Views are re-created inside the published file so they refer to its own tables; a view
    # over another view waits until that one exists.
    con.execute("USE pub")
    pending = [_unqualified(sql, catalog) for _, _, kind, sql in relations if kind == "view"]
    while pending:
        failed: list[str] = []
        for body in pending:
            try:
                con.execute(body)
            except duckdb.CatalogException:
                failed.append(body)
        if len(failed) == len(pending):
            con.execute(failed[0])  # no progress: raise the first error as it is
        pending = failed
    _copy_comments(con)


def _copy_comments(con: duckdb.DuckDBPyConnection) -> None:
    """CTAS and re-created views drop comments: copy them from the source catalog."""
    schemas = ", ".join(_literal(s) for s in PUBLISHED_SCHEMAS)
    comments = con.execute(
        f"""
        SELECT 'TABLE', schema_name, table_name, NULL, comment FROM duckdb_tables()
        WHERE database_name = 'src' AND schema_name IN ({schemas}) AND comment IS NOT NULL
        UNION ALL
        SELECT 'VIEW', schema_name, view_name, NULL, comment FROM duckdb_views()
        WHERE database_name = 'src' AND schema_name IN ({schemas}) AND comment IS NOT NULL
          AND NOT internal
        UNION ALL
        SELECT 'COLUMN', schema_name, table_name, column_name, comment FROM duckdb_columns()
        WHERE database_name = 'src' AND schema_name IN ({schemas}) AND comment IS NOT NULL
        """
    ).fetchall()
    for kind, schema, name, column, comment in comments:
        target = f"pub.{_ident(schema)}.{_ident(name)}"
        if column is not None:
            target += f".{_ident(column)}"
        con.execute(f"COMMENT ON {kind} {target} IS {_literal(comment)}")


def _unqualified(view_sql: str, catalog: str) -> str:
    """dbt writes views naming the warehouse's catalog; in the published file they must not."""
    return view_sql.replace(f"{_ident(catalog)}.", "").replace(f"{catalog}.", "")
