"""Land the canonical inbox into raw tables, file by file, with DuckDB's own readers.

Every file is read as text columns into a staging table, each row is checked against the
contract in one SQL statement, good rows go to `raw.<dataset>` typed, bad rows go to
`ops.quarantine` with file, line and reason. A file whose content hash was loaded before is
skipped, so dropping the same file twice changes nothing. Each file is one transaction: a crash
leaves it either fully landed or not at all.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ingestion import exports
from ingestion.connectors.native import API_FOLDER
from ingestion.contract import (
    BOOLEAN,
    COUNT,
    DATASETS,
    ENUM,
    FILE_TYPES,
    ID,
    SCORE,
    SHARE,
    TEXT,
    TIMESTAMP,
    Column,
)
from ingestion.native_landing import discover_api_files, land_api_file
from ingestion.warehouse import ensure_schema

log = logging.getLogger(__name__)

# A byte that cannot occur unescaped in valid JSON: reading JSON Lines as one-column CSV with
# it as the delimiter gives one row per physical line, so broken lines keep their line number.
_NO_DELIMITER = "\x1f"


@dataclass
class FileResult:
    dataset: str
    file: str
    rows_loaded: int = 0
    rows_quarantined: int = 0
    skipped: bool = False


@dataclass
class LandingReport:
    run_id: str
    files: list[FileResult] = field(default_factory=list)
    unknown_paths: list[str] = field(default_factory=list)

    @property
    def rows_loaded(self) -> dict[str, int]:
        totals = {dataset: 0 for dataset in (*DATASETS, API_FOLDER)}
        for f in self.files:
            totals[f.dataset] += f.rows_loaded
        return totals

    @property
    def rows_quarantined(self) -> int:
        """Quarantined rows, plus one entry per file that could not be loaded at all."""
        return sum(f.rows_quarantined for f in self.files) + len(self.unknown_paths)

    @property
    def files_loaded(self) -> int:
        return sum(not f.skipped for f in self.files)

    @property
    def files_skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    def summary(self) -> str:
        loaded = ", ".join(f"{k} {v}" for k, v in self.rows_loaded.items() if v)
        return (
            f"landed {self.files_loaded} files ({self.files_skipped} already loaded): "
            f"{loaded or 'no new rows'}; quarantined {self.rows_quarantined} rows"
        )


def discover(inbox: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(dataset, file) pairs in load order, and paths that are not part of the contract.

    Order: dataset, then file name in byte order (the tie-break rule of METHODOLOGY §0).
    """
    found: list[tuple[str, Path]] = []
    unknown: list[str] = []
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox folder {inbox} does not exist: create it or pass --inbox")
    for entry in sorted(inbox.iterdir()):
        if entry.name.startswith(".") or (entry.is_dir() and entry.name == API_FOLDER):
            continue  # native API captures: see land_api_files
        if entry.is_dir() and entry.name in DATASETS:
            files = [p for p in entry.rglob("*") if p.is_file() and not p.name.startswith(".")]
            for path in sorted(files, key=lambda p: p.relative_to(entry).as_posix().encode()):
                if path.suffix.lower() in FILE_TYPES:
                    found.append((entry.name, path))
                else:
                    unknown.append(str(path.relative_to(inbox)))
        else:
            unknown.append(entry.name)
    return found, unknown


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def land_inbox(con: duckdb.DuckDBPyConnection, inbox: Path, run_id: str) -> LandingReport:
    """Land every new file of the inbox; return what was loaded, skipped and quarantined."""
    ensure_schema(con)
    report = LandingReport(run_id=run_id)
    files, report.unknown_paths = discover(inbox)
    for path in report.unknown_paths:
        # not loadable, but never silently ignored: listed in the run's quarantine
        reason = (f"not loaded: expected <inbox>/<dataset>/<file> with dataset one of "
                  f"{', '.join(DATASETS)} and a {'/'.join(FILE_TYPES)} file")
        _quarantine_file(con, run_id, path.split("/")[0], path, reason)
        log.warning("%s: %s", path, reason)
    for n, (dataset, path) in enumerate(files, start=1):
        relative = path.relative_to(inbox).as_posix()
        digest = file_hash(path)
        if _already_loaded(con, digest):
            report.files.append(FileResult(dataset, relative, skipped=True))
            continue
        result = _land_file(con, dataset, path, relative, digest, run_id)
        report.files.append(result)
        log.info(
            "[%d/%d] %s: %d rows landed, %d quarantined",
            n, len(files), relative, result.rows_loaded, result.rows_quarantined,
        )
    land_api_files(con, inbox, run_id, report)
    return report


def _already_loaded(con: duckdb.DuckDBPyConnection, digest: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM ops.loaded_files WHERE file_hash = ?", [digest]
    ).fetchone()[0])


def land_api_files(con: duckdb.DuckDBPyConnection, inbox: Path, run_id: str,
                   report: LandingReport) -> None:
    """Native captures of the connectors, one transaction per file like the canonical files."""
    for path in discover_api_files(inbox / API_FOLDER):
        relative = path.relative_to(inbox).as_posix()
        digest = file_hash(path)
        if _already_loaded(con, digest):
            report.files.append(FileResult(API_FOLDER, relative, skipped=True))
            continue
        result = FileResult(API_FOLDER, relative)
        con.execute("BEGIN TRANSACTION")
        try:
            load_id = con.execute("SELECT nextval('ops.load_id_seq')").fetchone()[0]
            result.rows_loaded, error = land_api_file(con, path, relative, load_id, run_id)
            if error:
                con.execute("ROLLBACK")
                con.execute("BEGIN TRANSACTION")
                _quarantine_file(con, run_id, API_FOLDER, relative, error)
                result.rows_quarantined = 1
            con.execute(
                "INSERT INTO ops.loaded_files VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                [digest, API_FOLDER, relative, load_id, run_id, result.rows_loaded,
                 result.rows_quarantined],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        report.files.append(result)


def _land_file(
    con: duckdb.DuckDBPyConnection, dataset: str, path: Path, relative: str, digest: str,
    run_id: str,
) -> FileResult:
    result = FileResult(dataset, relative)
    # Reading happens outside the transaction: a file DuckDB cannot parse must not abort it.
    header, file_error = _stage(con, path, dataset)
    con.execute("BEGIN TRANSACTION")
    try:
        load_id = con.execute("SELECT nextval('ops.load_id_seq')").fetchone()[0]
        if file_error is not None:
            _quarantine_file(con, run_id, dataset, relative, file_error)
        else:
            if path.suffix.lower() == ".csv":
                _quarantine_csv_rejects(con, run_id, dataset, relative)
            _insert_checked(con, dataset, header, load_id, relative, run_id)
        result.rows_loaded = con.execute(
            f"SELECT count(*) FROM raw.{dataset} WHERE _load_id = ?", [load_id]
        ).fetchone()[0]
        result.rows_quarantined = con.execute(
            "SELECT count(*) FROM ops.quarantine WHERE run_id = ? AND file = ?",
            [run_id, relative],
        ).fetchone()[0]
        con.execute(
            "INSERT INTO ops.loaded_files VALUES (?, ?, ?, ?, ?, ?, ?, now())",
            [digest, dataset, relative, load_id, run_id, result.rows_loaded,
             result.rows_quarantined],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP TABLE IF EXISTS _stage")
    return result


def _quarantine_file(con: duckdb.DuckDBPyConnection, run_id: str, dataset: str, relative: str,
                     reason: str) -> None:
    con.execute(
        "INSERT INTO ops.quarantine VALUES (?, ?, ?, NULL, ?, NULL, now())",
        [run_id, dataset, relative, reason],
    )


def _stage(con: duckdb.DuckDBPyConnection, path: Path,
           dataset: str) -> tuple[list[str], str | None]:
    """Read the file into temp table `_stage` (text columns, `_line`, `_raw`).

    Returns the column names found in the file and, when the whole file is unreadable, the
    reason (the file is then quarantined as one entry). A mentions file that is a native export
    of a social-listening tool (ingestion/exports.py) is mapped to the canonical columns.
    """
    suffix = path.suffix.lower()
    try:
        export_format = exports.detect(path) if dataset == "mentions" else None
        if export_format is not None:
            return exports.stage(con, path, export_format), None
        if suffix == ".csv":
            return _stage_csv(con, path), None
        return _stage_json(con, path, suffix == ".jsonl"), None
    except duckdb.Error as exc:
        for table in ("_records", "_lined", "_objects", "_valid", "_stage"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        return [], f"unreadable {suffix[1:]} file: {str(exc).splitlines()[0][:300]}"


def _quarantine_csv_rejects(con: duckdb.DuckDBPyConnection, run_id: str, dataset: str,
                            relative: str) -> None:
    """Records the CSV parser rejected (wrong column count, line too long), as written."""
    con.execute(
        """
        INSERT INTO ops.quarantine
        SELECT ?, ?, ?, l.physical_line, string_agg(DISTINCT e.error_message, '; '),
               any_value(e.csv_line), now()
        FROM reject_errors e JOIN _reject_lines l USING (line)
        GROUP BY l.physical_line
        """,
        [run_id, dataset, relative],
    )


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    # _line assumes one physical line per record, true unless the parser rejected records or a
    # quoted field holds a line break; only then are the lines counted record by record
    con.execute(
        """
        CREATE TEMP TABLE _stage AS
        SELECT *, ordinality + 1 AS _line
        FROM read_csv(?, all_varchar = true, header = true, delim = ',',
                      quote = '"', escape = '"', store_rejects = true,
                      auto_detect = true)
        WITH ORDINALITY
        """,
        [str(path)],
    )
    header = [r[0] for r in con.execute("DESCRIBE _stage").fetchall()
              if r[0] not in ("ordinality", "_line")]
    con.execute("CREATE OR REPLACE TEMP TABLE _reject_lines (line BIGINT, physical_line BIGINT)")
    rejected = con.execute("SELECT count(*) FROM reject_errors").fetchone()[0]
    columns = ", ".join(_ident(h) for h in header)
    multiline = con.execute(
        f"SELECT coalesce(bool_or(contains(concat({columns}), chr(10))), false) FROM _stage"
    ).fetchone()[0]
    if rejected or multiline:
        _count_physical_lines(con, columns)
    return header


def _count_physical_lines(con: duckdb.DuckDBPyConnection, columns: str) -> None:
    """Set `_stage._line` to each record's first physical line, and fill `_reject_lines`;
    `columns` lists the file's columns (quoted, comma-separated)."""
    # Physical line of a record = 2 + the lines of every record before it, good or rejected; a
    # record spans 1 + the line breaks inside its quoted fields. reject_errors numbers records
    # (its `line` - 1 is the record number), so rejects are merged back in by that number.
    con.execute(
        f"""
        CREATE TEMP TABLE _records AS
        WITH rejects AS (
            -- with CRLF line ends csv_line starts with the previous line's leftover \n
            SELECT line, 1 + length(ltrim(any_value(csv_line), chr(13) || chr(10)))
                       - length(replace(ltrim(any_value(csv_line), chr(13) || chr(10)),
                                        chr(10), '')) AS span
            FROM reject_errors GROUP BY line
        ),
        merged AS (
            SELECT ordinality AS after_good, 0 AS is_reject, 0 AS line,
                   1 + list_sum(list_transform(list_value({columns}),
                       v -> coalesce(length(v) - length(replace(v, chr(10), '')), 0))) AS span
            FROM _stage
            UNION ALL
            SELECT (line - 1) - row_number() OVER (ORDER BY line), 1, line, span FROM rejects
        )
        SELECT after_good, is_reject, line,
               2 + coalesce(sum(span) OVER (ORDER BY after_good, is_reject, line
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS physical_line
        FROM merged
        """
    )
    con.execute(
        """
        INSERT INTO _reject_lines
        SELECT line, physical_line FROM _records WHERE is_reject = 1
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE _lined AS
        SELECT r.* EXCLUDE (_line), c.physical_line AS _line
        FROM _stage r JOIN _records c ON c.is_reject = 0 AND c.after_good = r.ordinality
        """
    )
    con.execute("DROP TABLE _records; DROP TABLE _stage; ALTER TABLE _lined RENAME TO _stage")


def _stage_json(con: duckdb.DuckDBPyConnection, path: Path, lines: bool) -> list[str]:
    if lines:
        reader = f"""
            SELECT ordinality AS _line, j AS _raw
            FROM read_csv(?, columns = {{'j': 'VARCHAR'}}, header = false,
                          delim = '{_NO_DELIMITER}', quote = '', escape = '',
                          max_line_size = 16777216)
            WITH ORDINALITY
            WHERE trim(coalesce(j, '')) <> ''
        """
    else:
        reader = """
            SELECT ordinality AS _line, json::VARCHAR AS _raw
            FROM read_json_objects(?, format = 'array') WITH ORDINALITY
        """
    con.execute(f"CREATE TEMP TABLE _objects AS {reader}", [str(path)])
    # Validity is settled in its own statement: DuckDB may evaluate both sides of an AND, and
    # json_type() of a broken line would fail the whole file.
    con.execute(
        "CREATE TEMP TABLE _valid AS SELECT _line, _raw, "
        "CASE WHEN json_valid(_raw) THEN _raw END::JSON AS _json FROM _objects"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _objects AS SELECT _line, _raw, "
        "CASE WHEN json_type(_json) = 'OBJECT' THEN _json END AS _json FROM _valid"
    )
    con.execute("DROP TABLE _valid")
    keys = con.execute("SELECT DISTINCT unnest(json_keys(_json)) FROM _objects").fetchall()
    header = sorted(k[0] for k in keys)
    # Values come out as text exactly as CSV cells do; the contract check then types them.
    extracted = "".join(f"_json ->> {_sql_string(k)} AS {_ident(k)}, " for k in header)
    con.execute(
        f"CREATE TEMP TABLE _stage AS SELECT {extracted} _line, _raw, "
        "_json IS NOT NULL AS _valid_json FROM _objects"
    )
    con.execute("DROP TABLE _objects")
    return header + ["_valid_json"]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _value_expr(column: Column, source: str | None) -> str:
    """The cleaned text value of a contract column (NULL when absent or empty)."""
    if source is None:
        return "NULL::VARCHAR"
    ref = _ident(source)
    if column.kind == TEXT:
        return f"nullif({ref}, '')"
    if column.kind == ENUM:
        return f"nullif(lower(trim({ref})), '')"
    return f"nullif(trim({ref}), '')"


def _parsed_expr(column: Column, value: str) -> str:
    kind = column.kind
    if kind in (ID, TEXT, ENUM):
        return value
    if kind == TIMESTAMP:
        return f"try_cast({value} AS TIMESTAMPTZ)"
    if kind in (COUNT, SCORE):
        target = "BIGINT" if kind == COUNT else "INTEGER"
        return (
            f"CASE WHEN regexp_full_match({value}, '[+-]?[0-9]+(\\.0*)?') "
            f"THEN try_cast(regexp_replace({value}, '\\.0*$', '') AS {target}) END"
        )
    if kind == SHARE:
        return f"try_cast({value} AS DOUBLE)"
    if kind == BOOLEAN:
        return f"try_cast({value} AS BOOLEAN)"
    raise ValueError(f"unknown column kind {kind}")


def _reason_exprs(column: Column, source: str | None, value: str, parsed: str,
                  registry: bool = True) -> list[str]:
    name = column.name
    shown = f"left({value}, 60)"
    reasons = []
    if column.required and source is None:
        return [f"'column {name} missing from the file'"]
    if column.references and registry:
        reasons.append(
            f"CASE WHEN {value} IS NOT NULL AND {value} NOT IN "
            f"(SELECT entity_id FROM registry.{column.references}) "
            f"THEN 'unknown {name}: ' || {shown} || ' is not in the registry''s "
            f"{column.references}.csv (add it there, then drop the rows again)' END"
        )
    if column.required:
        reasons.append(f"CASE WHEN {value} IS NULL THEN 'missing required value: {name}' END")
    if column.kind == ENUM:
        allowed = ", ".join(_sql_string(v) for v in column.values)
        reasons.append(
            f"CASE WHEN {value} NOT IN ({allowed}) THEN 'unknown {name}: ' || {shown} END"
        )
    elif column.kind not in (ID, TEXT):
        reasons.append(
            f"CASE WHEN {value} IS NOT NULL AND {parsed} IS NULL "
            f"THEN 'unparsable {column.kind} in {name}: ' || {shown} END"
        )
    if column.kind == COUNT:
        reasons.append(f"CASE WHEN {parsed} < 0 THEN 'negative {name}: ' || {shown} END")
    bounds = {SHARE: (0, 1), SCORE: (1, 5)}.get(column.kind)
    if bounds:
        low, high = bounds
        reasons.append(
            f"CASE WHEN {parsed} NOT BETWEEN {low} AND {high} "
            f"THEN '{name} out of range {low}..{high}: ' || {shown} END"
        )
    return reasons


def _insert_checked(con: duckdb.DuckDBPyConnection, dataset: str, header: list[str],
                    load_id: int, relative: str, run_id: str) -> None:
    """Split `_stage` into typed raw rows and quarantined rows with one pass of SQL each."""
    by_name = {h.strip().lower(): h for h in header}
    # references are checked against the registry the run loaded (landing on its own, as some
    # tests do, has none)
    registry = bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'registry'"
    ).fetchone()[0])
    selects, reasons = [], []
    parsed_of: dict[str, str] = {}
    for column in DATASETS[dataset]:
        source = by_name.get(column.name)
        value = _value_expr(column, source)
        parsed = _parsed_expr(column, value)
        selects.append(f"{parsed} AS {_ident(column.name)}")
        reasons.extend(_reason_exprs(column, source, value, parsed, registry))
        parsed_of[column.name] = parsed
    for column in DATASETS[dataset]:
        if column.not_before and column.not_before in parsed_of:
            this, earlier = parsed_of[column.name], parsed_of[column.not_before]
            reasons.append(f"CASE WHEN {this} < {earlier} THEN '{column.name} is before "
                           f"{column.not_before}: ' || {this}::VARCHAR END")
    reason = f"nullif(concat_ws('; ', {', '.join(reasons)}), '')"
    if "_valid_json" in header:
        reason = f"CASE WHEN NOT _valid_json THEN 'not a valid JSON object' ELSE {reason} END"
    staged = {r[0] for r in con.execute("DESCRIBE _stage").fetchall()}
    # a CSV record is kept as JSON text only when it is quarantined (most rows never are)
    raw = "_raw" if "_raw" in staged else (
        "to_json(struct_pack(" + ", ".join(_ident(h) for h in header) + "))::VARCHAR")
    con.execute(
        f"""
        CREATE TEMP TABLE _checked AS
        SELECT {', '.join(selects)}, _line,
               CASE WHEN _reason IS NOT NULL THEN {raw} END AS _raw, _reason
        FROM (SELECT *, {reason} AS _reason FROM _stage)
        """
    )
    names = ", ".join(_ident(c.name) for c in DATASETS[dataset])
    con.execute(
        f"""
        INSERT INTO raw.{dataset}
        SELECT {names}, ?, ?, ?, _line, now() FROM _checked WHERE _reason IS NULL
        """,
        [load_id, run_id, relative],
    )
    con.execute(
        """
        INSERT INTO ops.quarantine
        SELECT ?, ?, ?, _line, _reason, _raw, now() FROM _checked WHERE _reason IS NOT NULL
        """,
        [run_id, dataset, relative],
    )
    con.execute("DROP TABLE _checked")
