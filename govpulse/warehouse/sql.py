"""Quoting for the SQL govpulse composes (names and constants DuckDB cannot bind as parameters:
table and column names, COPY/ATTACH paths, CREATE VIEW text). Values a query reads go through
parameters instead."""


def ident(name: str) -> str:
    """A quoted identifier: `a"b` -> `"a""b"`."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A quoted string literal: `it's` -> `'it''s'`."""
    return "'" + value.replace("'", "''") + "'"
