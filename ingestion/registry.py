"""Load the registry folder (CONTRACTS §2) into `registry.*` after checking it is consistent.

A registry that contradicts itself stops the run before anything is loaded: every problem is
reported with the file, the line and what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.contract import PLATFORMS

LEVELS = ("region", "district", "city", "city_district", "body")
PAGE_KINDS = ("official_region", "official_district", "akim_personal", "other")
EXCLUSION_REASONS = ("paid_public", "government", "state_company", "corporate", "media", "other")
RATINGS = ("people", "region_pages", "district_pages", "insta_akims")

# file -> (column, SQL type, required, allowed values)
FILES: dict[str, tuple[tuple[str, str, bool, tuple[str, ...]], ...]] = {
    "entities": (
        ("entity_id", "VARCHAR", True, ()),
        ("level", "VARCHAR", True, LEVELS),
        ("name_ru", "VARCHAR", True, ()),
        ("name_kk", "VARCHAR", False, ()),
        ("parent_id", "VARCHAR", False, ()),
        ("body_group", "VARCHAR", False, ()),
        ("valid_from", "DATE", False, ()),
        ("valid_to", "DATE", False, ()),
    ),
    "populations": (
        ("entity_id", "VARCHAR", True, ()),
        ("population", "BIGINT", True, ()),
        ("population_date", "DATE", True, ()),
    ),
    "pages": (
        ("page_id", "VARCHAR", True, ()),
        ("platform", "VARCHAR", True, PLATFORMS),
        ("platform_page_id", "VARCHAR", True, ()),
        ("entity_id", "VARCHAR", True, ()),
        ("page_kind", "VARCHAR", True, PAGE_KINDS),
        ("url", "VARCHAR", False, ()),
        ("owner_name", "VARCHAR", False, ()),
        ("active_from", "DATE", False, ()),
        ("active_to", "DATE", False, ()),
    ),
    "aliases": (
        ("entity_id", "VARCHAR", True, ()),
        ("alias", "VARCHAR", True, ()),
        ("lang", "VARCHAR", False, ()),
    ),
    "excluded_sources": (
        ("platform", "VARCHAR", True, PLATFORMS),
        ("source_id", "VARCHAR", True, ()),
        ("reason", "VARCHAR", True, EXCLUSION_REASONS),
    ),
    "expert_scores": (
        ("year", "INTEGER", True, ()),
        ("rating", "VARCHAR", True, RATINGS),
        ("unit_id", "VARCHAR", True, ()),
        ("score", "DOUBLE", True, ()),
    ),
}
OPTIONAL_FILES = ("expert_scores",)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message} — {self.fix}"


class RegistryError(Exception):
    """The registry contradicts itself; nothing was loaded."""

    def __init__(self, registry_dir: Path, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:25])
        more = f"\n  … and {len(problems) - 25} more" if len(problems) > 25 else ""
        super().__init__(
            f"registry {registry_dir} is inconsistent ({len(problems)} problems), "
            f"nothing was loaded:\n{shown}{more}"
        )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Names keep their spelling; ids, enums, numbers and dates are trimmed.
_NAME_COLUMNS = {"name_ru", "name_kk", "alias", "owner_name"}


def _typed(column: str, sql_type: str) -> str:
    if column in _NAME_COLUMNS:
        return f"nullif({_ident(column)}, '') AS {_ident(column)}"
    return f"CAST(nullif(trim({_ident(column)}), '') AS {sql_type}) AS {_ident(column)}"


def _read(con: duckdb.DuckDBPyConnection, registry_dir: Path, name: str,
          problems: list[Problem]) -> bool:
    """Read <name>.csv as text into temp table `_reg_<name>` with `_line`; report shape errors."""
    path = registry_dir / f"{name}.csv"
    spec = FILES[name]
    if not path.exists():
        if name not in OPTIONAL_FILES:
            problems.append(Problem(f"{name}.csv", None, "file is missing",
                                    f"create it with the header {','.join(c[0] for c in spec)}"))
        return False
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _reg_{name} AS
        SELECT *, ordinality + 1 AS _line
        FROM read_csv(?, all_varchar = true, header = true, delim = ',', quote = '"',
                      escape = '"', auto_detect = true)
        WITH ORDINALITY
        """,
        [str(path)],
    )
    header = {r[0] for r in con.execute(f"DESCRIBE _reg_{name}").fetchall()}
    ok = True
    for column, sql_type, required, values in spec:
        if column not in header:
            if required:
                problems.append(Problem(f"{name}.csv", 1, f"column {column} is missing",
                                        f"add the column {column} to the header"))
                ok = False
            else:
                con.execute(f"ALTER TABLE _reg_{name} ADD COLUMN {column} VARCHAR")
            continue
        col = _ident(column)
        checks = []
        if required:
            checks.append((f"nullif(trim({col}), '') IS NULL", f"empty {column}",
                           f"fill in {column}"))
        if values:
            allowed = ", ".join("'" + v + "'" for v in values)
            checks.append((f"trim({col}) NOT IN ({allowed})", f"unknown {column}",
                           f"use one of {', '.join(values)}"))
        if sql_type != "VARCHAR":
            checks.append((f"nullif(trim({col}), '') IS NOT NULL AND "
                           f"try_cast(trim({col}) AS {sql_type}) IS NULL",
                           f"{column} is not a valid {sql_type.lower()}",
                           "write dates as YYYY-MM-DD and numbers as digits"))
        for condition, message, fix in checks:
            rows = con.execute(
                f"SELECT _line, {col} FROM _reg_{name} WHERE {condition} ORDER BY _line"
            ).fetchall()
            for line, value in rows:
                problems.append(Problem(f"{name}.csv", line, f"{message} ({value!r})", fix))
            ok = ok and not rows
    return ok


# (file, key columns, what to fix)
_UNIQUE_KEYS = (
    ("entities", ("entity_id",), "give every entity its own entity_id"),
    ("pages", ("page_id",), "give every page its own page_id"),
    ("pages", ("platform", "platform_page_id"), "list each platform page once"),
    ("populations", ("entity_id", "population_date"), "keep one figure per entity and date"),
    ("excluded_sources", ("platform", "source_id"), "list each source once"),
)

# (file, column, what it refers to, what to fix)
_REFERENCES = (
    ("pages", "entity_id", "add the entity to entities.csv or correct the page's entity_id"),
    ("populations", "entity_id", "add the entity to entities.csv or remove the figure"),
    ("aliases", "entity_id", "add the entity to entities.csv or remove the alias"),
    ("entities", "parent_id", "add the parent entity or clear parent_id"),
)


def _check_consistency(con: duckdb.DuckDBPyConnection, problems: list[Problem]) -> None:
    for name, keys, fix in _UNIQUE_KEYS:
        cols = ", ".join(f"trim({_ident(k)})" for k in keys)
        rows = con.execute(
            f"""
            SELECT _line, first_line, key FROM (
                SELECT _line, concat_ws(' / ', {cols}) AS key,
                       min(_line) OVER (PARTITION BY {cols}) AS first_line
                FROM _reg_{name}
            ) WHERE _line > first_line ORDER BY _line
            """
        ).fetchall()
        for line, first, key in rows:
            problems.append(Problem(f"{name}.csv", line,
                                    f"duplicate {'/'.join(keys)} {key!r} (first on line {first})",
                                    fix))
    for name, column, fix in _REFERENCES:
        rows = con.execute(
            f"""
            SELECT r._line, r.{column} FROM _reg_{name} r
            WHERE nullif(trim(r.{column}), '') IS NOT NULL
              AND trim(r.{column}) NOT IN (SELECT trim(entity_id) FROM _reg_entities)
            ORDER BY r._line
            """
        ).fetchall()
        for line, value in rows:
            problems.append(Problem(f"{name}.csv", line, f"unknown {column} {value!r}", fix))
    # Rated units need a population: regions (people rating) and owners of official pages.
    rows = con.execute(
        """
        SELECT e._line, e.entity_id FROM _reg_entities e
        WHERE (trim(e.level) = 'region' OR trim(e.entity_id) IN (
                   SELECT trim(entity_id) FROM _reg_pages
                   WHERE trim(page_kind) IN ('official_region', 'official_district')))
          AND trim(e.entity_id) NOT IN (SELECT trim(entity_id) FROM _reg_populations)
        ORDER BY e._line
        """
    ).fetchall()
    for line, entity in rows:
        problems.append(Problem("entities.csv", line,
                                f"rated unit {entity!r} has no population",
                                "add at least one row for it to populations.csv"))


def load_registry(con: duckdb.DuckDBPyConnection, registry_dir: Path) -> dict[str, int]:
    """Check the registry folder and replace `registry.*` with it; return rows per file."""
    if not registry_dir.is_dir():
        raise FileNotFoundError(
            f"registry folder {registry_dir} does not exist: pass --registry or set "
            "GOVPULSE_REGISTRY"
        )
    problems: list[Problem] = []
    present = {name: _read(con, registry_dir, name, problems) for name in FILES}
    if all(present[n] for n in FILES if n not in OPTIONAL_FILES):
        _check_consistency(con, problems)
    if problems:
        raise RegistryError(registry_dir, problems)
    counts = {}
    con.execute("BEGIN TRANSACTION")
    con.execute("CREATE SCHEMA IF NOT EXISTS registry")
    for name, spec in FILES.items():
        if present.get(name):
            columns = ", ".join(_typed(c, t) for c, t, _, _ in spec)
            con.execute(
                f"CREATE OR REPLACE TABLE registry.{name} AS SELECT {columns} FROM _reg_{name}"
            )
        else:
            empty = ", ".join(f"NULL::{t} AS {_ident(c)}" for c, t, _, _ in spec)
            con.execute(f"CREATE OR REPLACE TABLE registry.{name} AS SELECT {empty} LIMIT 0")
        counts[name] = con.execute(f"SELECT count(*) FROM registry.{name}").fetchone()[0]
    con.execute("COMMIT")
    for name in FILES:
        con.execute(f"DROP TABLE IF EXISTS _reg_{name}")
    return counts
