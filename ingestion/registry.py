"""Load the registry folder (CONTRACTS §2) into `registry.*` after checking it is consistent.

A registry that contradicts itself stops the run before anything is loaded: every problem is
reported with the file, the line and what to fix.

The registry keeps its history: a row is closed with `valid_to` / `active_to`, never deleted, and
a rename is a new line of the same entity_id whose [valid_from, valid_to] (inclusive, empty =
open) does not overlap the entity's other lines. All lines of one entity_id share its level and
parent_id: a unit that changes either is a new unit with its own id (as KATO gives it a new code).
Every load is traced in `ops.registry_loads` (file, sha256, rows) for the run that used it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from govpulse.contract import PLATFORMS
from govpulse.warehouse.schema import REGISTRY_LOADS_DDL
from govpulse.warehouse.sql import first_row, ident
from ingestion import vendor_files as exports

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




# Names keep their spelling; ids, enums, numbers and dates are trimmed.
_NAME_COLUMNS = {"name_ru", "name_kk", "alias", "owner_name"}


def _typed(column: str, sql_type: str) -> str:
    if column in _NAME_COLUMNS:
        return f"nullif({ident(column)}, '') AS {ident(column)}"
    return f"CAST(nullif(trim({ident(column)}), '') AS {sql_type}) AS {ident(column)}"


# Control characters (tab, line break, NUL, ESC...): never part of a name or an id, and they
# break the published names and every text export; usually pasted in by accident.
_CONTROL = "[\\x00-\\x1f\\x7f]"
_CONTROL_NAMES = {"\t": "tab", "\n": "line break", "\r": "carriage return", "\x00": "NUL byte",
                  "\x1b": "escape (ESC)"}


def _control_name(char: str) -> str:
    return f"U+{ord(char):04X} ({_CONTROL_NAMES.get(char, 'control character')})"


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
    if not _read_text(con, path, name, problems):
        return False
    header = {r[0] for r in con.execute(f"DESCRIBE _reg_{name}").fetchall()}
    ok = True
    for column, sql_type, required, values in spec:
        if column not in header:
            if required:
                problems.append(Problem(f"{name}.csv", 1, f"column {column} is missing",
                                        f"add the column {column} to the header"))
                ok = False
            else:
                con.execute(f"ALTER TABLE _reg_{name} ADD COLUMN {ident(column)} VARCHAR")
            continue
        col = ident(column)
        checks: list[tuple[str, list[object], str, str]] = [(
            f"regexp_matches({col}, ?)", [_CONTROL], f"control character in {column}",
            "remove it: registry values are one line of text, without tabs or control "
            "characters")]
        if required:
            checks.append((f"nullif(trim({col}), '') IS NULL", [], f"empty {column}",
                           f"fill in {column}"))
        if values:
            checks.append((f"NOT list_contains(?::VARCHAR[], trim({col}))", [list(values)],
                           f"unknown {column}", f"use one of {', '.join(values)}"))
        if sql_type != "VARCHAR":
            checks.append((f"nullif(trim({col}), '') IS NOT NULL AND "
                           f"try_cast(trim({col}) AS {sql_type}) IS NULL", [],
                           f"{column} is not a valid {sql_type.lower()}",
                           "write dates as YYYY-MM-DD and numbers as digits"))
        for condition, params, message, fix in checks:
            rows = con.execute(
                f"SELECT _line, {col}, regexp_extract({col}, ?) FROM _reg_{name} "
                f"WHERE {condition} ORDER BY _line",
                ["(" + _CONTROL + ")", *params],
            ).fetchall()
            for line, value, control in rows:
                what = message
                if message.startswith("control character"):
                    what = f"control character {_control_name(control)} in {column}"
                problems.append(Problem(f"{name}.csv", line, f"{what} ({value!r})", fix))
            ok = ok and not rows
    return ok


def _read_text(con: duckdb.DuckDBPyConnection, path: Path, name: str,
               problems: list[Problem]) -> bool:
    """Read the file as text columns into `_reg_<name>`, `_line` being each record's first
    physical line; report a file that is not UTF-8 CSV and every record the reader rejects."""
    file = f"{name}.csv"
    head = exports.head_bytes(path)
    problem = exports.encoding_problem(head)
    if problem:
        problems.append(Problem(file, None, problem, "save the registry files as CSV UTF-8"))
        return False
    header = exports.csv_header(head, ",")
    if not header:
        problems.append(Problem(file, 1, "no header row", "the first line names the columns"))
        return False
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _reg_read AS SELECT * FROM {exports.read_csv_sql()} "
            "WITH ORDINALITY",
            [str(path), dict.fromkeys(header, "VARCHAR"), ",", 0, True],
        )
    except duckdb.Error as exc:
        problems.append(Problem(file, None, f"cannot be read as CSV ({str(exc).splitlines()[0]})",
                                "save it as comma-separated CSV UTF-8 with a header row"))
        return False
    # A record's first line: 2 + the lines of every record before it (1 + its line breaks).
    # The reader numbers a rejected record by records (its line if no record before it spans
    # lines): the registry stops on it anyway, the message gives the record number too.
    columns = ", ".join(ident(h) for h in header)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _reg_{name} AS
        SELECT * EXCLUDE (ordinality, _breaks),
               2 + coalesce(sum(_breaks) OVER (ORDER BY ordinality ROWS BETWEEN UNBOUNDED
                                PRECEDING AND 1 PRECEDING), 0) AS _line
        FROM (SELECT *, 1 + list_sum(list_transform(list_value({columns}),
                  v -> coalesce(length(v) - length(replace(v, chr(10), '')), 0))) AS _breaks
              FROM _reg_read)
        """
    )
    con.execute("DROP TABLE _reg_read")
    rejects = con.execute(
        "SELECT line, string_agg(DISTINCT error_type, ', ' ORDER BY error_type), "
        "any_value(csv_line) "
        "FROM reject_errors GROUP BY line ORDER BY line"
    ).fetchall()
    for line, kinds, text in rejects:
        problems.append(Problem(
            file, line, f"record number {line - 1} cannot be read ({kinds.lower()}: "
            f"{text[:80]!r})",
            "every line has as many values as the header; quote values that contain a comma, "
            'a quote ("" inside quotes) or a line break'))
    return not rejects


# (file, key columns, what to fix)
# entity_id is not unique: an entity has one line per version (see _check_entity_versions).
_UNIQUE_KEYS = (
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


# (file, from column, to column) of the validity intervals, inclusive dates, empty = open.
_INTERVALS = (("entities", "valid_from", "valid_to"), ("pages", "active_from", "active_to"))


def _interval_text(start: object, end: object) -> str:
    """`2019-03-23..2022-09-18`, `..2019-03-22`, `2022-09-19..` or `always`."""
    return f"{start or ''}..{end or ''}" if start or end else "always"


def _check_intervals(con: duckdb.DuckDBPyConnection, problems: list[Problem]) -> None:
    """An interval that ends before it starts would silently drop the row from every period."""
    for name, start, end in _INTERVALS:
        rows = con.execute(
            f"""
            SELECT _line, {start}, {end} FROM _reg_{name}
            WHERE try_cast(trim({end}) AS DATE) < try_cast(trim({start}) AS DATE)
            ORDER BY _line
            """
        ).fetchall()
        for line, first, last in rows:
            problems.append(Problem(
                f"{name}.csv", line, f"{end} {last} is before {start} {first}",
                f"correct the dates ({end} is the last day the row applies, inclusive)"))


def _check_entity_versions(con: duckdb.DuckDBPyConnection, problems: list[Problem]) -> None:
    """Lines of one entity_id are versions: their intervals must not overlap (a period would
    have two names for one unit) and they must agree on level and parent_id (else it is another
    unit, and rankings or page ratings would silently move it)."""
    versions = """
        SELECT _line, trim(entity_id) AS entity_id, trim(level) AS level,
               nullif(trim(parent_id), '') AS parent_id,
               try_cast(trim(valid_from) AS DATE) AS valid_from,
               try_cast(trim(valid_to) AS DATE) AS valid_to
        FROM _reg_entities
    """
    # Inverted intervals are reported by _check_intervals; they take no part in overlaps.
    ordered = "(valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to)"
    # Each line is reported once, against the first earlier line it overlaps.
    rows = con.execute(
        f"""
        WITH v AS (SELECT * FROM ({versions}) WHERE {ordered})
        SELECT b._line, b.entity_id, b.valid_from, b.valid_to,
               min_by(a._line, a._line), min_by(a.valid_from, a._line), min_by(a.valid_to, a._line)
        FROM v AS b JOIN v AS a
          ON a.entity_id = b.entity_id AND a._line < b._line
         AND (a.valid_from IS NULL OR b.valid_to IS NULL OR a.valid_from <= b.valid_to)
         AND (b.valid_from IS NULL OR a.valid_to IS NULL OR b.valid_from <= a.valid_to)
        GROUP BY ALL ORDER BY b._line
        """
    ).fetchall()
    for line, entity, start, end, first, first_start, first_end in rows:
        problems.append(Problem(
            "entities.csv", line,
            f"entity_id {entity!r} valid {_interval_text(start, end)} overlaps line {first} "
            f"(valid {_interval_text(first_start, first_end)})",
            "a rename is a new line: close the earlier line with valid_to the day before the "
            "new line's valid_from; a different unit needs its own entity_id"))
    rows = con.execute(
        f"""
        WITH v AS ({versions})
        SELECT b._line, b.entity_id, a._line, a.level, b.level, a.parent_id, b.parent_id
        FROM v AS b JOIN v AS a ON a.entity_id = b.entity_id
        WHERE a._line = (SELECT min(_line) FROM v WHERE v.entity_id = b.entity_id)
          AND b._line > a._line
          AND (a.level IS DISTINCT FROM b.level OR a.parent_id IS DISTINCT FROM b.parent_id)
        ORDER BY b._line
        """
    ).fetchall()
    for line, entity, first, level0, level, parent0, parent in rows:
        what = (f"level {level!r} (line {first}: {level0!r})" if level != level0
                else f"parent_id {parent!r} (line {first}: {parent0!r})")
        problems.append(Problem(
            "entities.csv", line, f"entity_id {entity!r} changes {what}",
            "all lines of one entity_id keep its level and parent_id: a unit that moves or "
            "changes level is a new entity (close the old one with valid_to, add a new "
            "entity_id)"))


def _check_consistency(con: duckdb.DuckDBPyConnection, problems: list[Problem]) -> None:
    _check_intervals(con, problems)
    _check_entity_versions(con, problems)
    for name, keys, fix in _UNIQUE_KEYS:
        cols = ", ".join(f"trim({ident(k)})" for k in keys)
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


def load_registry(con: duckdb.DuckDBPyConnection, registry_dir: Path,
                  run_id: str | None = None) -> dict[str, int]:
    """Check the registry folder and replace `registry.*` with it; return rows per file.

    Each loaded file's sha256 and row count go to `ops.registry_loads` under run_id, so a
    published rating can be traced to the exact registry it was computed with.
    """
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
    digests = {name: hashlib.sha256((registry_dir / f"{name}.csv").read_bytes()).hexdigest()
               for name in FILES if present.get(name)}
    # Also here (not only in ensure_schema): callers such as fetch load into a scratch database.
    con.execute(REGISTRY_LOADS_DDL)
    con.execute("BEGIN TRANSACTION")
    con.execute("CREATE SCHEMA IF NOT EXISTS registry")
    for name, spec in FILES.items():
        if present.get(name):
            columns = ", ".join(_typed(c, t) for c, t, _, _ in spec)
            con.execute(
                f"CREATE OR REPLACE TABLE registry.{name} AS SELECT {columns} FROM _reg_{name}"
            )
        else:
            empty = ", ".join(f"NULL::{t} AS {ident(c)}" for c, t, _, _ in spec)
            con.execute(f"CREATE OR REPLACE TABLE registry.{name} AS SELECT {empty} LIMIT 0")
        counts[name] = first_row(con.execute(f"SELECT count(*) FROM registry.{name}"))[0]
    con.executemany(
        "INSERT INTO ops.registry_loads VALUES (?, ?, ?, ?, current_timestamp)",
        [[run_id, f"{name}.csv", digest, counts[name]] for name, digest in digests.items()],
    )
    con.execute("COMMIT")
    for name in FILES:
        con.execute(f"DROP TABLE IF EXISTS _reg_{name}")
    return counts
