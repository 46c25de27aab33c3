"""Land the canonical inbox into raw tables, file by file, with DuckDB's own readers.

Every file is read as text columns into a staging table, each row is checked against the
contract in one SQL statement, good rows go to `raw.<dataset>` typed, bad rows go to
`ops.quarantine` with file, line and reason. A file whose content hash was loaded before is
skipped, so dropping the same file twice changes nothing. Each file is one transaction: a crash
leaves it either fully landed or not at all.

Hostile input (tests/test_hostile_input.py) is handled by these rules:

- Every record is accounted for: before a file commits, the records it holds are counted
  apart from the reader (ingestion/records.py) and must equal rows landed + rows quarantined;
  otherwise nothing of it is kept, it is quarantined whole saying what was found and the run's
  raw validation fails (`ops.loaded_files.records`, `conservation`).
- A header that breaks the contract (a required column missing, a contract column named twice,
  an empty header) is one quarantine entry naming the file and its columns; columns the
  contract does not name are ignored (logged). A CSV's delimiter (`,`, `;` or tab) is the one
  that splits its header row into the most contract columns.
- Files must be UTF-8 (a BOM is allowed; LF, CRLF or mixed line ends: a file that mixes them is
  read from a copy with LF, since DuckDB's reader silently stops otherwise). A file whose
  header or most records are not UTF-8 is quarantined as one entry saying so (and whether it
  looks like Windows-1251 or UTF-16); a UTF-8 file with a few bad records loses only those
  records.
- CSV is read with the columns of its header row (no dialect sniffing, which a cut-off last
  record can defeat): a record the parser rejects (too few or too many fields, an unterminated
  quote, bytes that are not UTF-8, longer than `exports.MAX_RECORD_BYTES`) is quarantined on
  its own line with a reason saying what to fix; JSON Lines the same, line by line. A JSON
  array that is cut short or broken is quarantined as one entry: its records cannot be told
  apart safely, and the complete file, dropped again, loads them all.
- A file still being written is not landed: one modified less than `settle_seconds` before
  landing started, or whose size or modification time changes while it is landed (that file's
  transaction is rolled back), is deferred to the next run, listed in the report and logged.
- A file whose content was loaded before, under any name, is skipped; the report names copies.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from govpulse import settings
from govpulse.contract import (
    BOOLEAN,
    COUNT,
    DATASETS,
    ENUM,
    FILE_TYPES,
    FUTURE_TOLERANCE_DAYS,
    ID,
    SCORE,
    SHARE,
    TEXT,
    TIMESTAMP,
    Column,
)
from govpulse.warehouse.schema import ensure_schema
from govpulse.warehouse.sql import first_row, ident
from ingestion import records
from ingestion import vendor_files as exports
from ingestion.connectors.native import API_FOLDER
from ingestion.native_landing import discover_api_files, land_api_file

log = logging.getLogger(__name__)

# A byte that cannot occur unescaped in valid JSON: reading JSON Lines as one-column CSV with
# it as the delimiter gives one row per physical line, so broken lines keep their line number.
_NO_DELIMITER = "\x1f"

# Seconds a file must have been left unmodified before landing takes it (0 = no wait). The
# environment sets it for deployments where files are copied into the inbox while runs start.
SETTLE_ENV = "GOVPULSE_INBOX_SETTLE_SECONDS"


# How a landed file's records were accounted for (ops.loaded_files.conservation)
BALANCED = "balanced"  # records = rows landed + rows quarantined
FILE_QUARANTINED = "file quarantined"  # one quarantine entry for the whole file
MISMATCH = "mismatch"  # the counts disagreed: quarantined whole, the raw validation fails


@dataclass
class FileResult:
    dataset: str
    file: str
    rows_loaded: int = 0
    rows_quarantined: int = 0
    skipped: bool = False
    # a skipped file whose content was loaded before under another name: that name
    same_as: str | None = None
    # records the file holds, counted apart from the reader (None: not counted)
    records: int | None = None
    conservation: str | None = None

    def accounting(self) -> str:
        """`12 records: 10 landed, 2 quarantined`, or what happened to the whole file."""
        if self.conservation is None:  # an API capture: its records are not counted
            return f"{self.rows_loaded:,} landed, {self.rows_quarantined:,} quarantined"
        held = "? records" if self.records is None else f"{self.records:,} records"
        if self.conservation == MISMATCH:
            return f"{held}, NOT ACCOUNTED FOR by the reader: quarantined whole"
        if self.conservation == FILE_QUARANTINED:
            return f"{held}, quarantined whole"
        return f"{held}: {self.rows_loaded:,} landed, {self.rows_quarantined:,} quarantined"


@dataclass
class LandingReport:
    run_id: str
    files: list[FileResult] = field(default_factory=list)
    unknown_paths: list[str] = field(default_factory=list)
    # (file, why) of files still being written: not landed now, landed by the next run
    deferred: list[tuple[str, str]] = field(default_factory=list)

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

    @property
    def copies(self) -> list[FileResult]:
        """Skipped files that are copies, under a new name, of a file loaded before."""
        return [f for f in self.files if f.same_as]

    @property
    def mismatches(self) -> list[FileResult]:
        """Files whose records the reader did not account for (quarantined whole)."""
        return [f for f in self.files if f.conservation == MISMATCH]

    def file_records(self) -> list[dict[str, object]]:
        """records / landed / quarantined of each file landed now that lost rows to
        quarantine (or was quarantined whole); files that landed every record are left out."""
        return [
            {"file": f.file, "records": f.records, "rows_loaded": f.rows_loaded,
             "rows_quarantined": f.rows_quarantined, "conservation": f.conservation}
            for f in self.files if not f.skipped and (f.rows_quarantined or f.conservation
                                                      not in (BALANCED, None))
        ]

    def summary(self) -> str:
        loaded = ", ".join(f"{k} {v}" for k, v in self.rows_loaded.items() if v)
        text = (
            f"landed {self.files_loaded} files ({self.files_skipped} already loaded): "
            f"{loaded or 'no new rows'}; quarantined {self.rows_quarantined} rows"
        )
        if self.mismatches:
            shown = "; ".join(f"{f.file} ({f.accounting()})" for f in self.mismatches[:10])
            text += (f"; {len(self.mismatches)} files NOT ACCOUNTED FOR (the raw validation "
                     f"fails): {shown}")
        partial = [f for f in self.files
                   if not f.skipped and f.conservation != MISMATCH and f.rows_quarantined]
        if partial:
            shown = "; ".join(f"{f.file} ({f.accounting()})" for f in partial[:10])
            more = f" and {len(partial) - 10} more (ops.loaded_files)" if len(partial) > 10 else ""
            text += f"; files with quarantined records: {shown}{more}"
        if self.copies:
            shown = ", ".join(f"{f.file} = {f.same_as}" for f in self.copies[:10])
            text += f"; {len(self.copies)} copies of files loaded before skipped ({shown})"
        if self.deferred:
            shown = ", ".join(f for f, _ in self.deferred[:10])
            text += (f"; {len(self.deferred)} files deferred to the next run, still being "
                     f"written or unreadable ({shown})")
        return text


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


def settle_seconds_default() -> float:
    return max(0.0, settings.seconds(SETTLE_ENV, 0.0))


@dataclass(frozen=True)
class _Seen:
    """What a file looked like before landing: landing checks it did not change meanwhile."""

    size: int
    mtime_ns: int
    # a copy that keeps size and mtime (cp -p, rsync -t) still gets a new inode or ctime,
    # which user space cannot set back
    inode: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path) -> _Seen:
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


class _Deferred(Exception):
    """The file is still being written: it is rolled back and left for the next run."""


def _check_unchanged(path: Path, seen: _Seen) -> None:
    try:
        now = _Seen.of(path)
    except OSError as exc:
        raise _Deferred(f"the file went away while it was landed ({exc.strerror})") from None
    if now != seen:
        raise _Deferred(f"the file changed while it was landed ({seen.size} -> {now.size} "
                        "bytes): it is still being written; nothing of it was kept")


def _settled(path: Path, started: float, settle: float) -> tuple[_Seen | None, str | None]:
    """The file's size and mtime, or why it must wait for the next run."""
    try:
        seen = _Seen.of(path)
    except OSError as exc:
        return None, f"cannot read the file ({exc.strerror})"
    age = started - seen.mtime_ns / 1e9
    # with no settle time nothing is judged by its clock (a copy may keep a skewed mtime)
    if settle > 0 and age < settle:
        when = (f"modified {age:.0f} s before landing started" if age >= 0 else
                "modified after landing started (or dated ahead of this machine's clock)")
        return None, (f"{when}, within the settle time of {settle:g} s ({SETTLE_ENV}): it may "
                      "still be being written")
    return seen, None


def land_inbox(con: duckdb.DuckDBPyConnection, inbox: Path, run_id: str,
               settle_seconds: float | None = None) -> LandingReport:
    """Land every new file of the inbox; return what was loaded, skipped, quarantined and
    deferred. `settle_seconds` (default: $GOVPULSE_INBOX_SETTLE_SECONDS, else 0) is how long a
    file must have been left unmodified; a file that changes while it is landed is deferred
    whatever the setting."""
    settle = settle_seconds_default() if settle_seconds is None else settle_seconds
    started = time.time()
    ensure_schema(con)
    report = LandingReport(run_id=run_id)
    files, report.unknown_paths = discover(inbox)
    for unknown in report.unknown_paths:
        # not loadable, but never silently ignored: listed in the run's quarantine
        reason = (f"not loaded: expected <inbox>/<dataset>/<file> with dataset one of "
                  f"{', '.join(DATASETS)} and a {'/'.join(FILE_TYPES)} file")
        _quarantine_file(con, run_id, unknown.split("/")[0], unknown, reason)
        log.warning("%s: %s", unknown, reason)
    for n, (dataset, path) in enumerate(files, start=1):
        relative = path.relative_to(inbox).as_posix()
        def land(p: Path, r: str, d: str, s: _Seen, ds: str = dataset) -> FileResult:
            return _land_file(con, ds, p, r, d, run_id, s)

        result = _land_one(con, report, dataset, path, relative, started, settle, land)
        if result is not None:
            log.log(logging.ERROR if result.conservation == MISMATCH else logging.INFO,
                    "[%d/%d] %s: %s", n, len(files), relative, result.accounting())
    land_api_files(con, inbox, run_id, report, started, settle)
    return report


def _land_one(con: duckdb.DuckDBPyConnection, report: LandingReport, dataset: str, path: Path,
              relative: str, started: float, settle: float,
              land: Callable[[Path, str, str, _Seen], FileResult]) -> FileResult | None:
    """Skip, defer or land one file (`land` does it in one transaction); record the outcome."""
    seen, wait = _settled(path, started, settle)
    try:
        if wait is None and seen is not None:
            digest = file_hash(path)
            loaded_as = _loaded_as(con, digest)
            if loaded_as is not None:
                same_as = loaded_as if loaded_as != relative else None
                if same_as:
                    log.info("%s: same content as %s, loaded before: skipped", relative,
                             same_as)
                result = FileResult(dataset, relative, skipped=True, same_as=same_as)
                report.files.append(result)
                return None
            result = land(path, relative, digest, seen)
            report.files.append(result)
            return result
    except OSError as exc:
        wait = f"cannot read the file ({exc.strerror})"
    except _Deferred as exc:
        wait = str(exc)
    report.deferred.append((relative, wait or "not ready"))
    log.warning("%s: not landed in this run, deferred to the next: %s", relative, wait)
    return None


def _loaded_as(con: duckdb.DuckDBPyConnection, digest: str) -> str | None:
    """The name under which a file with this content was loaded, or None."""
    # a file whose records did not add up is tried again by every run (and fails its raw
    # validation) until it is fixed or removed: a re-run must not publish without it
    return first_row(con.execute(
        "SELECT min(file) FROM ops.loaded_files WHERE file_hash = ? "
        "AND conservation IS DISTINCT FROM ?", [digest, MISMATCH]
    ))[0]


def land_api_files(con: duckdb.DuckDBPyConnection, inbox: Path, run_id: str,
                   report: LandingReport, started: float | None = None,
                   settle: float = 0.0) -> None:
    """Native captures of the connectors, one transaction per file like the canonical files."""
    started = time.time() if started is None else started
    for path in discover_api_files(inbox / API_FOLDER):
        relative = path.relative_to(inbox).as_posix()
        _land_one(con, report, API_FOLDER, path, relative, started, settle,
                  lambda p, r, d, s: _land_api_file(con, p, r, d, run_id, s))


def _land_api_file(con: duckdb.DuckDBPyConnection, path: Path, relative: str, digest: str,
                   run_id: str, seen: _Seen) -> FileResult:
    result = FileResult(API_FOLDER, relative)
    con.execute("BEGIN TRANSACTION")
    try:
        load_id = first_row(con.execute("SELECT nextval('ops.load_id_seq')"))[0]
        before = _quarantined(con, run_id, relative)
        result.rows_loaded, error = land_api_file(con, path, relative, load_id, run_id)
        if error:
            con.execute("ROLLBACK")
            con.execute("BEGIN TRANSACTION")
            _quarantine_file(con, run_id, API_FOLDER, relative, error)
            result.rows_quarantined = 1
        else:  # records of the capture its shape's rule rejected (native_landing)
            result.rows_quarantined = _quarantined(con, run_id, relative) - before
        _record_and_commit(con, result, digest, load_id, run_id, path, seen)
    except Exception:
        con.execute("ROLLBACK")
        raise
    return result


def _record_and_commit(con: duckdb.DuckDBPyConnection, result: FileResult, digest: str,
                       load_id: int, run_id: str, path: Path, seen: _Seen) -> None:
    """Record the landed file under its content hash and commit its transaction, unless the
    file changed meanwhile: the rows are what DuckDB read, kept only if that was the whole
    file (the caller rolls back on `_Deferred`)."""
    con.execute(
        """
        INSERT INTO ops.loaded_files (file_hash, dataset, file, load_id, run_id, rows_loaded,
                                      rows_quarantined, loaded_at, records, conservation)
        VALUES (?, ?, ?, ?, ?, ?, ?, now(), ?, ?)
        """,
        [digest, result.dataset, result.file, load_id, run_id, result.rows_loaded,
         result.rows_quarantined, result.records, result.conservation],
    )
    _check_unchanged(path, seen)
    con.execute("COMMIT")


def _land_file(
    con: duckdb.DuckDBPyConnection, dataset: str, path: Path, relative: str, digest: str,
    run_id: str, seen: _Seen,
) -> FileResult:
    result = FileResult(dataset, relative)
    # Reading happens outside the transaction: a file DuckDB cannot parse must not abort it.
    staged = _stage(con, path, dataset, relative)
    result.records = staged.records
    con.execute("BEGIN TRANSACTION")
    try:
        load_id = first_row(con.execute("SELECT nextval('ops.load_id_seq')"))[0]
        # a retried land task (same run) may have quarantined this file before: only this
        # attempt's entries count
        before = _quarantined(con, run_id, relative)
        if staged.error is not None:
            _quarantine_file(con, run_id, dataset, relative, staged.error)
            result.conservation = FILE_QUARANTINED
        else:
            if _has_rejects_table(con):  # the file was read by read_csv
                _quarantine_csv_rejects(con, run_id, dataset, relative)
            _insert_checked(con, dataset, staged.header, load_id, relative, run_id)
            result.conservation = BALANCED
        result.rows_loaded, result.rows_quarantined = _landed_counts(
            con, dataset, load_id, run_id, relative, before)
        problem = _conservation_problem(relative, staged, result)
        if problem is not None:
            # nothing of a file whose records are not all accounted for is kept: publishing
            # from part of it would be wrong without anyone knowing
            con.execute("ROLLBACK")
            con.execute("BEGIN TRANSACTION")
            _quarantine_file(con, run_id, dataset, relative, problem)
            result.rows_loaded, result.rows_quarantined = 0, 1
            result.conservation = MISMATCH
            log.error("%s", problem)
        _record_and_commit(con, result, digest, load_id, run_id, path, seen)
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        for table in _STAGE_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return result


def _landed_counts(con: duckdb.DuckDBPyConnection, dataset: str, load_id: int, run_id: str,
                   relative: str, before: int) -> tuple[int, int]:
    """Rows of the file in its raw table and in the quarantine (this attempt: `before` is the
    file's quarantine entries of the run when its transaction began)."""
    loaded = first_row(con.execute(
        f"SELECT count(*) FROM raw.{ident(dataset)} WHERE _load_id = ?", [load_id]
    ))[0]
    return loaded, _quarantined(con, run_id, relative) - before


def _quarantined(con: duckdb.DuckDBPyConnection, run_id: str, relative: str) -> int:
    """The file's quarantine entries of the run so far."""
    return first_row(con.execute(
        "SELECT count(*) FROM ops.quarantine WHERE run_id = ? AND file = ?", [run_id, relative]
    ))[0]


def _conservation_problem(relative: str, staged: _Staged, result: FileResult) -> str | None:
    """Why the file's records are not accounted for, or None: every record counted apart from
    the reader is a landed row or a quarantined one (or the whole file is one entry)."""
    if result.conservation == FILE_QUARANTINED:
        return None
    if staged.records is None:
        return (f"{relative}: its records could not be counted apart from the reader "
                f"({staged.count_error}), so nothing of it is kept; the reader produced "
                f"{result.rows_loaded} rows and {result.rows_quarantined} rejects. Check the "
                "file is complete and well-formed, then drop it again")
    if staged.records == result.rows_loaded + result.rows_quarantined:
        return None
    return (f"{relative} holds {staged.records} records but the reader produced "
            f"{result.rows_loaded} rows and {result.rows_quarantined} rejects: nothing of it "
            "is kept. Its line ends or quoting may be unusual: open it in a spreadsheet, save "
            "it as CSV UTF-8 and drop it again; if it still happens, report it with the file")


def _has_rejects_table(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(first_row(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = '_reject_lines'"
    ))[0])


def _quarantine_file(con: duckdb.DuckDBPyConnection, run_id: str, dataset: str, relative: str,
                     reason: str) -> None:
    con.execute(
        "INSERT INTO ops.quarantine VALUES (?, ?, ?, NULL, ?, NULL, now())",
        [run_id, dataset, relative, reason],
    )


_STAGE_TABLES = ("_records", "_lined", "_objects", "_valid", "_stage", "_reject_lines")


@dataclass
class _Staged:
    """What `_stage` read: the file's columns, or why the whole file is quarantined, and the
    records the file holds counted apart from the reader (None with `count_error`)."""

    header: list[str] = field(default_factory=list)
    error: str | None = None
    records: int | None = None
    count_error: str | None = None


def _stage(con: duckdb.DuckDBPyConnection, path: Path, dataset: str,
           relative: str) -> _Staged:
    """Read the file into temp table `_stage` (text columns, `_line`, `_raw`).

    Returns the column names found in the file and, when the whole file is unreadable or its
    header breaks the contract, the reason (the file is then quarantined as one entry), with
    the records it holds. A mentions file that is a native export of a social-listening tool
    (ingestion/vendor_files.py) is mapped to the canonical columns.
    """
    suffix = path.suffix.lower()
    staged = _Staged()
    try:
        export_format = exports.detect(path) if dataset == "mentions" else None
        head = exports.head_bytes(path)
        if export_format is None:
            staged.error = exports.encoding_problem(head) or _empty_problem(head, suffix)
        if staged.error is not None:
            _count_unreadable(staged, path, head, suffix)
        elif export_format == exports.BA_CSV:
            _stage_ba_csv(con, staged, path, head, relative)
        elif export_format is not None:
            _count(staged, lambda: records.count_json(path, mentions_pages=True))
            staged.header = exports.stage(con, path, export_format)
        elif suffix == ".csv":
            _stage_canonical_csv(con, staged, path, head, dataset, relative)
        else:
            _stage_canonical_json(con, staged, path, dataset, relative, suffix == ".jsonl")
    except duckdb.Error as exc:
        staged.error = unreadable_reason(suffix, exc)
    if staged.error is not None:
        for table in _STAGE_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return staged


def _stage_ba_csv(con: duckdb.DuckDBPyConnection, staged: _Staged, path: Path, head: bytes,
                  relative: str) -> None:
    header_line, delimiter, _ = exports.ba_csv_layout(path)
    start = records.skip_lines(head, header_line)
    with _uniform(path, _count_csv(staged, path, head, start, delimiter)) as read:
        staged.header = exports.stage(con, path, exports.BA_CSV, read)
    staged.error = _header_problem("mentions", relative, staged.header, export=True)


def _stage_canonical_csv(con: duckdb.DuckDBPyConnection, staged: _Staged, path: Path,
                         head: bytes, dataset: str, relative: str) -> None:
    names, delimiter = _csv_layout(dataset, head)
    counted = _count_csv(staged, path, head, records.header_end(head), delimiter)
    staged.error = _header_problem(dataset, relative, names, header_row=True)
    if staged.error is None:
        with _uniform(path, counted) as read:
            staged.header = _stage_csv(con, read, head, delimiter)


def _stage_canonical_json(con: duckdb.DuckDBPyConnection, staged: _Staged, path: Path,
                          dataset: str, relative: str, lines: bool) -> None:
    if lines:
        counted = _count(staged, lambda: records.count_json_lines(path))
    else:
        counted = _count(staged, lambda: records.count_json(path))
    with _uniform(path, counted) as read:
        staged.header = _stage_json(con, read, lines)
    keys = [h for h in staged.header if h != "_valid_json"]
    # a file of broken lines only has no keys: each line is quarantined as not JSON
    staged.error = _header_problem(dataset, relative, keys) if keys else None


def _count_unreadable(staged: _Staged, path: Path, head: bytes, suffix: str) -> None:
    """Count what a file quarantined whole (encoding, emptiness) holds, for the record."""
    if suffix == ".csv":
        _count_csv(staged, path, head, records.header_end(head), ",")
    elif suffix == ".jsonl":
        _count(staged, lambda: records.count_json_lines(path))


def _count(staged: _Staged, count: Callable[[], records.CsvCount | int]
           ) -> records.CsvCount | None:
    """Record the independent count in `staged` (or why there is none); the CSV count too."""
    try:
        counted = count()
    except records.CountError as exc:
        staged.count_error = str(exc)
        return None
    staged.records = counted if isinstance(counted, int) else counted.records
    return counted if isinstance(counted, records.CsvCount) else None


def _count_csv(staged: _Staged, path: Path, head: bytes, start: int,
               delimiter: str) -> records.CsvCount | None:
    counted = _count(staged, lambda: records.count_csv(path, start, delimiter))
    if counted is not None:
        # the header and the lines before it count for line ends as well
        counted.line_ends |= records.line_end_styles(head[:start])
    return counted


@contextmanager
def _uniform(path: Path, counted: records.CsvCount | None) -> Iterator[Path]:
    """The file to read: `path`, or a copy with LF line ends when it mixes LF, CRLF and CR.

    DuckDB's CSV reader takes its line end from the first line and then, in strict mode,
    returns no rows and no rejects at all (or an error) when later lines end otherwise, as a
    file edited on two systems does. Physical line numbers are the same in the copy; a line
    break inside a quoted value becomes LF.
    """
    if counted is None or not counted.mixed_line_ends:
        yield path
        return
    folder = Path(tempfile.mkdtemp(prefix="govpulse-lineends-"))
    try:
        copy = folder / path.name
        _copy_with_lf(path, copy)
        log.info("%s: mixed line ends (%s): read from a copy with LF line ends", path.name,
                 ", ".join(sorted(counted.line_ends)))
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _copy_with_lf(source: Path, target: Path) -> None:
    with source.open("rb") as src, target.open("wb") as dst:
        carry = b""
        while block := src.read(records.CHUNK_BYTES):
            data = carry + block
            # a CR at the end of a block may be the first half of a CRLF
            data, carry = (data[:-1], b"\r") if data.endswith(b"\r") else (data, b"")
            dst.write(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        dst.write(carry.replace(b"\r", b"\n"))


def _csv_layout(dataset: str, head: bytes) -> tuple[list[str], str]:
    """The header row's names as written and the delimiter, decided from the header alone
    (data is never sniffed): the delimiter that splits it into the most contract columns,
    else into the most columns, else a comma (the contract's)."""
    known = {c.name for c in DATASETS[dataset]}
    best: tuple[tuple[int, int], list[str], str] | None = None
    for delimiter in sorted(exports.CSV_DELIMITERS, key=lambda d: d != ","):
        names = exports.csv_header_names(head, delimiter)
        score = (sum(n.strip().lower() in known for n in names), len(names))
        if best is None or score > best[0]:
            best = (score, names, delimiter)
    assert best is not None  # CSV_DELIMITERS is not empty
    _, names, delimiter = best
    return names, delimiter


def _shown(names: list[str]) -> str:
    cut = [n if len(n) <= 40 else n[:39] + "…" for n in names[:20]]
    return ", ".join(cut) + (f" and {len(names) - 20} more" if len(names) > 20 else "")


def _header_problem(dataset: str, relative: str, names: list[str],
                    export: bool = False, header_row: bool = False) -> str | None:
    """Why the file's header breaks the contract (CONTRACTS.md §3), or None.

    Required columns must be there and contract columns named once; names are matched
    trimmed and case-insensitively. Columns the contract does not name are ignored (tools add
    their own), and said in the log.
    """
    clean = [exports.unique_names([n])[0].strip() for n in names]
    if not any(clean):
        return (f"{relative}: the header row is empty: the first line must name the columns "
                f"(CONTRACTS.md §3: {', '.join(c.name for c in DATASETS[dataset])})")
    columns = DATASETS[dataset]
    lowered = [n.lower() for n in clean]
    # a CSV header names even the columns whose values may be empty (Column.in_header); JSON
    # objects may leave an empty key out
    missing = [c.name for c in columns
               if (c.required or (header_row and c.in_header)) and c.name not in lowered]
    twice = sorted({n for n in lowered if lowered.count(n) > 1 and n in
                    {c.name for c in columns}})
    extra = [n for n, low in zip(clean, lowered, strict=True)
             if low not in {c.name for c in columns}]
    if extra and not export:
        log.warning("%s: columns the contract does not name are ignored: %s", relative,
                    _shown(extra))
    if not missing and not twice:
        return None
    what = []
    if missing:
        what.append(f"required columns missing: {', '.join(missing)}")
    if twice:
        what.append(f"columns named more than once: {', '.join(twice)}")
    if export:
        return (f"{relative}: the export has no columns for what a mention needs: "
                f"{'; '.join(what)}; re-export it with all columns")
    return (f"{relative}: the header does not match the {dataset} contract "
            f"(CONTRACTS.md §3): {'; '.join(what)}. The file's columns: "
            f"{_shown(clean) or 'none'}. Name the columns as the contract does and drop the "
            "file again")


def _empty_problem(head: bytes, suffix: str) -> str | None:
    if head.strip(b"\xef\xbb\xbf \t\r\n") or suffix == ".jsonl":
        return None  # an empty JSON Lines file is zero records, as a header-only CSV is
    what = "header row" if suffix == ".csv" else "JSON array"
    return (f"the file is empty (no {what}): the export or the copy was probably "
            "interrupted; drop the complete file again")


def unreadable_reason(suffix: str, exc: duckdb.Error) -> str:
    """A whole-file read error as a reason a person can act on (DuckDB's words kept)."""
    message = str(exc).split("\n")[0]
    for prefix in ("Invalid Input Error: ", "IO Error: ", "Conversion Error: "):
        message = message.removeprefix(prefix)
    message = message[:300]
    low = message.lower()
    kind = suffix.lstrip(".")
    if isinstance(exc, exports.ExportError):
        return f"unreadable {kind} file: {message}"
    if "utf-8" in low or "unicode" in low:
        hint = "the file is not valid UTF-8: re-save it as UTF-8"
    elif "unexpected end" in low or "premature end" in low:
        hint = (f"the {kind} file is cut short (incomplete copy or export): drop the complete "
                "file again")
    elif "maximum_object_size" in low or "maximum object size" in low:
        hint = "a JSON record is too large to read"
    elif "malformed json" in low or "json" in low:
        hint = f"the {kind} file is not valid JSON: fix it or export it again"
    else:
        hint = f"the {kind} file cannot be read: check its format and export it again"
    return f"unreadable {kind} file: {hint} ({message})"


# What a person does about a record the CSV reader rejected, by reject_errors.error_type, most
# telling first: DuckDB may report one broken record several ways (a cut-off quoted value is
# also a short record), and the reason names the first of them.
_REJECT_HINTS = {
    "INVALID ENCODING": "bytes that are not UTF-8: fix the record or re-save the file as UTF-8",
    "INVALID UNICODE": "bytes that are not UTF-8: fix the record or re-save the file as UTF-8",
    "LINE SIZE OVER MAXIMUM": "record too long: shorten its text or split it",
    "UNQUOTED VALUE": "unterminated or stray quote: the record is cut short, or a quote inside "
                      'a value is not doubled ("")',
    "TOO MANY COLUMNS": "too many values: put values that contain the delimiter in double "
                        "quotes",
    "MISSING COLUMNS": "too few values: the record is cut short, or a value with a line break "
                       "is not in double quotes",
}


def _quarantine_csv_rejects(con: duckdb.DuckDBPyConnection, run_id: str, dataset: str,
                            relative: str) -> None:
    """Records the CSV reader rejected, as written, with what to do about them and DuckDB's
    own message in brackets (for a short record without the column count it found, which
    DuckDB reports several times over)."""
    con.execute(
        """
        INSERT INTO ops.quarantine
        SELECT ?, ?, ?, l.physical_line,
               arg_min(coalesce(hint || ' (' || message || ')', message),
                       coalesce(rank, 99) * 1000 + length(message)),
               any_value(e.csv_line), now()
        FROM (SELECT *,
                     map(?::VARCHAR[], ?::VARCHAR[])[error_type] AS hint,
                     list_position(?::VARCHAR[], error_type) AS rank,
                     CASE WHEN error_type = 'MISSING COLUMNS'
                          THEN regexp_replace(error_message, ' Found: [0-9]+$', '')
                          ELSE error_message END AS message
              FROM reject_errors) e
        JOIN _reject_lines l USING (line)
        GROUP BY l.physical_line
        """,
        [run_id, dataset, relative, list(_REJECT_HINTS), list(_REJECT_HINTS.values()),
         list(_REJECT_HINTS)],
    )


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, head: bytes,
               delimiter: str) -> list[str]:
    header = exports.csv_header(head, delimiter)
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    # _line assumes one physical line per record, true unless the parser rejected records or a
    # quoted field holds a line break; only then are the lines counted record by record
    con.execute(
        f"""
        CREATE TEMP TABLE _stage AS
        SELECT *, ordinality + 1 AS _line FROM {exports.read_csv_sql()} WITH ORDINALITY
        """,
        [str(path), dict.fromkeys(header, "VARCHAR"), delimiter, 0, True],
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _reject_lines (line BIGINT, physical_line BIGINT)")
    rejected = first_row(con.execute("SELECT count(*) FROM reject_errors"))[0]
    columns = ", ".join(ident(h) for h in header)
    multiline = first_row(con.execute(
        f"SELECT coalesce(bool_or(contains(concat({columns}), chr(10))), false) FROM _stage"
    ))[0]
    if rejected or multiline:
        _count_physical_lines(con, columns, header_lines=1)
    return header


def _count_physical_lines(con: duckdb.DuckDBPyConnection, columns: str,
                          header_lines: int) -> None:
    """Set `_stage._line` to each record's first physical line, and fill `_reject_lines`;
    `columns` lists the file's columns (quoted, comma-separated)."""
    records.number_csv_records(con, "_stage", columns, header_lines, into="_records")
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
        # one row per physical line (blank ones too, so lines keep their numbers); a line the
        # reader rejects (not UTF-8, too long) is quarantined on its own
        con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
        con.execute(
            f"""
            CREATE TEMP TABLE _stage AS
            SELECT j, ordinality, ordinality AS _line
            FROM {exports.read_csv_sql(quoted=False)} WITH ORDINALITY
            """,
            [str(path), {"j": "VARCHAR"}, _NO_DELIMITER, 0, False],
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _reject_lines (line BIGINT, physical_line BIGINT)")
        if first_row(con.execute("SELECT count(*) FROM reject_errors"))[0]:
            _count_physical_lines(con, '"j"', header_lines=0)
        con.execute(
            "CREATE TEMP TABLE _objects AS SELECT _line, j AS _raw FROM _stage "
            "WHERE trim(coalesce(j, ''), ' \t\r') <> ''"
        )
        con.execute("DROP TABLE _stage")
    else:
        # an object may be as large as the file (a big text); the default cap is 16 MB
        con.execute(
            """
            CREATE TEMP TABLE _objects AS
            SELECT ordinality AS _line, json::VARCHAR AS _raw
            FROM read_json_objects(?, format = 'array', maximum_object_size = ?)
            WITH ORDINALITY
            """,
            [str(path), max(exports.MAX_RECORD_BYTES, path.stat().st_size + 1)],
        )
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
    # column names are case-insensitive in SQL: of keys differing only in case, the one in
    # lower case (as the contract writes names) keeps its name, the others get a suffix
    keys = sorted((k[0] for k in con.execute(
        "SELECT DISTINCT unnest(json_keys(_json)) FROM _objects").fetchall()),
        key=lambda k: (k != k.lower(), k))
    header = exports.unique_names(keys)
    # Values come out as text exactly as CSV cells do; the contract check then types them.
    # Keys are parameters, in JSONPath form so that a key starting with $ or / is a key too.
    extracted = "".join(f"_json ->> ? AS {ident(h)}, " for h in header)
    con.execute(
        f"CREATE TEMP TABLE _stage AS SELECT {extracted} _line, _raw, "
        "_json IS NOT NULL AS _valid_json FROM _objects",
        [_json_path(k) for k in keys],
    )
    con.execute("DROP TABLE _objects")
    return header + ["_valid_json"]


def _json_path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'






def _value_expr(column: Column, source: str | None) -> str:
    """The cleaned text value of a contract column (NULL when absent or empty)."""
    if source is None:
        return "NULL::VARCHAR"
    ref = ident(source)
    if column.kind == TEXT:
        return f"nullif({ref}, '')"
    if column.kind == ENUM:
        return f"nullif(lower(trim({ref})), '')"
    return f"nullif(trim({ref}), '')"


# A whole number as counts and scores are written (a `.0` tail from spreadsheets allowed).
_INTEGER = "'[+-]?[0-9]+(\\.0*)?'"


def _parsed_expr(column: Column, value: str) -> str:
    kind = column.kind
    if kind in (ID, TEXT, ENUM):
        return value
    if kind == TIMESTAMP:
        return f"try_cast({value} AS TIMESTAMPTZ)"
    if kind in (COUNT, SCORE):
        target = "BIGINT" if kind == COUNT else "INTEGER"
        return (
            f"CASE WHEN regexp_full_match({value}, {_INTEGER}) "
            f"THEN try_cast(regexp_replace({value}, '\\.0*$', '') AS {target}) END"
        )
    if kind == SHARE:
        return f"try_cast({value} AS DOUBLE)"
    if kind == BOOLEAN:
        return f"try_cast({value} AS BOOLEAN)"
    raise ValueError(f"unknown column kind {kind}")


def _reason_exprs(column: Column, source: str | None, value: str, parsed: str,
                  params: dict[str, object], registry: bool = True) -> list[str]:
    """SQL expressions giving each reason the row breaks the rule of `column` (else NULL).
    Values they compare with (enum values, limits) are added to `params` as named parameters."""
    name = column.name
    shown = f"left({value}, 60)"
    reasons = []
    if column.required and source is None:
        return [f"'column {name} missing from the file'"]
    if column.references and registry:
        reasons.append(
            f"CASE WHEN {value} IS NOT NULL AND {value} NOT IN "
            f"(SELECT entity_id FROM registry.{ident(column.references)}) "
            f"THEN 'unknown {name}: ' || {shown} || ' is not in the registry''s "
            f"{column.references}.csv (add it there, then drop the rows again)' END"
        )
    if column.required:
        reasons.append(f"CASE WHEN {value} IS NULL THEN 'missing required value: {name}' END")
    if column.kind == ENUM:
        params[f"{name}_values"] = list(column.values)
        reasons.append(
            f"CASE WHEN {value} IS NOT NULL AND NOT list_contains(${name}_values::VARCHAR[], "
            f"{value}) THEN 'unknown {name}: ' || {shown} END"
        )
    elif column.kind in (COUNT, SCORE):
        # a whole number the type cannot hold is out of range, not unparsable
        reasons.append(
            f"CASE WHEN {value} IS NOT NULL AND {parsed} IS NULL THEN CASE "
            f"WHEN regexp_full_match({value}, {_INTEGER}) THEN '{name} out of range (more "
            f"than {_max_of(column)}): ' || {shown} || ' (check the column is the right one)' "
            f"ELSE 'unparsable {column.kind} in {name}: ' || {shown} END END"
        )
    elif column.kind not in (ID, TEXT):
        reasons.append(
            f"CASE WHEN {value} IS NOT NULL AND {parsed} IS NULL "
            f"THEN 'unparsable {column.kind} in {name}: ' || {shown} END"
        )
    if column.kind == COUNT:
        reasons.append(f"CASE WHEN {parsed} < 0 THEN 'negative {name}: ' || {shown} END")
    if column.kind == TIMESTAMP:
        # an event after landing + the tolerance cannot have happened yet (METHODOLOGY counts
        # events in the week they happened; a future one would count in a week it is not in)
        params["future_days"] = FUTURE_TOLERANCE_DAYS
        reasons.append(
            f"CASE WHEN {parsed} > now() + to_days($future_days) THEN '{name} is in the future "
            f"(more than ' || $future_days || ' day after landing): ' || {shown} || '; check "
            f"the export''s clock and its date format (day and month swapped?)' END"
        )
    low, high = column.bounds
    if low is not None and high is not None:  # COUNT's lower bound is checked above
        reasons.append(
            f"CASE WHEN {parsed} NOT BETWEEN {low} AND {high} "
            f"THEN '{name} out of range {low}..{high}: ' || {shown} END"
        )
    return reasons


def _max_of(column: Column) -> int:
    return 2**63 - 1 if column.kind == COUNT else 2**31 - 1


def _insert_checked(con: duckdb.DuckDBPyConnection, dataset: str, header: list[str],
                    load_id: int, relative: str, run_id: str) -> None:
    """Split `_stage` into typed raw rows and quarantined rows with one pass of SQL each."""
    by_name = {h.strip().lower(): h for h in header}
    # references are checked against the registry the run loaded (landing on its own, as some
    # tests do, has none)
    registry = bool(first_row(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'registry'"
    ))[0])
    selects, reasons = [], []
    # only the parameters the reasons use: DuckDB refuses unused ones
    params: dict[str, object] = {}
    parsed_of: dict[str, str] = {}
    for column in DATASETS[dataset]:
        source = by_name.get(column.name)
        value = _value_expr(column, source)
        parsed = _parsed_expr(column, value)
        selects.append(f"{parsed} AS {ident(column.name)}")
        reasons.extend(_reason_exprs(column, source, value, parsed, params, registry))
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
        "to_json(struct_pack(" + ", ".join(ident(h) for h in header) + "))::VARCHAR")
    con.execute(
        f"""
        CREATE TEMP TABLE _checked AS
        SELECT {', '.join(selects)}, _line,
               CASE WHEN _reason IS NOT NULL THEN {raw} END AS _raw, _reason
        FROM (SELECT *, {reason} AS _reason FROM _stage)
        """,
        params,
    )
    names = ", ".join(ident(c.name) for c in DATASETS[dataset])
    con.execute(
        f"""
        INSERT INTO raw.{ident(dataset)}
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
