"""Quoting for the SQL govpulse composes (names and constants DuckDB cannot bind as parameters:
table and column names, COPY/ATTACH paths, CREATE VIEW text). Values a query reads go through
parameters instead."""

from typing import Any

import duckdb


def ident(name: str) -> str:
    """A quoted identifier: `a"b` -> `"a""b"`."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A quoted string literal: `it's` -> `'it''s'`."""
    return "'" + value.replace("'", "''") + "'"


def first_row(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """The first row of an executed query that always returns one (an aggregate, a count):
    fetchone() without the None a reader must otherwise handle."""
    row = result.fetchone()
    if row is None:
        raise LookupError("the query returned no row")
    return row
