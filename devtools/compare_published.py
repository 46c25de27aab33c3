"""Compare two published warehouse files relation by relation (a refactoring's proof that what
readers get did not change): every table and view, rows `EXCEPT ALL` both ways, leaving aside
what differs between any two runs (timestamps, run and load ids, durations, file paths).

    python -m devtools.compare_published BEFORE.duckdb AFTER.duckdb

Exit status 0 when every relation matches, 1 otherwise (the differing relations are listed).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import duckdb

from govpulse.warehouse.sql import first_row, ident, literal

# columns that name a run or a moment, not a result
RUN_SPECIFIC = re.compile(
    r"(^|_)(run_id|load_id|revision_run_id|run|_loaded_at|file_hash)$|_at$|_seconds$|^_file$"
)
RUN_SPECIFIC_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIME")
# a run id quoted inside a text (a validation's details, a message)
RUN_ID_IN_TEXT = r"[a-z-]+-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{8}T[0-9]{6}-[0-9a-f]{6}"


def relations(con: duckdb.DuckDBPyConnection, db: str) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = ? ORDER BY table_schema, table_name, ordinal_position", [db]
    ).fetchall()
    found: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        found.setdefault(f"{schema}.{table}", []).append((column, data_type))
    return found


def compared_columns(columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(c, t) for c, t in columns
            if not RUN_SPECIFIC.search(c) and t not in RUN_SPECIFIC_TYPES]


def _expression(column: str, data_type: str) -> str:
    if data_type == "VARCHAR":
        return f"regexp_replace({ident(column)}, {literal(RUN_ID_IN_TEXT)}, '<run>', 'g')"
    return ident(column)


def compare(before: Path, after: Path) -> list[str]:
    """Lines describing each difference; empty when the files match."""
    con = duckdb.connect()
    con.execute(f"ATTACH {literal(str(before))} AS a (READ_ONLY)")
    con.execute(f"ATTACH {literal(str(after))} AS b (READ_ONLY)")
    rel_a, rel_b = relations(con, "a"), relations(con, "b")
    problems = [f"{r}: only in {before.name} (before)" for r in sorted(rel_a.keys() - rel_b.keys())]
    problems += [f"{r}: only in {after.name} (after)" for r in sorted(rel_b.keys() - rel_a.keys())]
    for rel in sorted(rel_a.keys() & rel_b.keys()):
        cols_a, cols_b = compared_columns(rel_a[rel]), compared_columns(rel_b[rel])
        if cols_a != cols_b:
            problems.append(f"{rel}: columns differ: {cols_a} vs {cols_b}")
            continue
        schema, table = rel.split(".", 1)
        select = ", ".join(_expression(c, t) for c, t in cols_a)
        name = f"{ident(schema)}.{ident(table)}"
        missing, extra = (
            first_row(con.execute(
                f"SELECT count(*) FROM (SELECT {select} FROM {x}.{name} "
                f"EXCEPT ALL SELECT {select} FROM {y}.{name})"))[0]
            for x, y in (("a", "b"), ("b", "a"))
        )
        rows = first_row(con.execute(f"SELECT count(*) FROM a.{name}"))[0]
        status = "same" if not (missing or extra) else "DIFFERENT"
        print(f"{status:9} {rel:55} {rows:>8} rows  -{missing} +{extra}", flush=True)
        if missing or extra:
            problems.append(f"{rel}: {missing} rows only before, {extra} only after")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    problems = compare(args.before, args.after)
    for line in problems:
        print(line)
    print("identical (run-specific columns aside)" if not problems
          else f"{len(problems)} relations differ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
