"""Publish the marts and ops of the private warehouse as a read-only file for analysts and BI.

The copy is written next to the target under a temporary name and renamed over it: readers that
hold the old file keep reading it, new readers see the new one, nobody sees half of it. Just
before the rename the file it replaces gets a second name, `<name>.previous.duckdb` (a hard link:
the target is never missing), so `govpulse restore-previous` can swap it back in one step.
Temporary files of a publisher that was killed (`.<name>.<pid>.tmp` and its `.wal`) are removed
by the next publish. The file
uses DuckDB's v1.4 storage format so BI drivers bundling older DuckDB can open it. The dbt docs
descriptions, which dbt stores as DuckDB comments in the private warehouse (`persist_docs`), are
carried over to the copy, so a BI tool browsing the catalog sees what each table and column means.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from govpulse import settings
from govpulse.publish.folders import exchange
from govpulse.warehouse.schema import memory_limit
from govpulse.warehouse.sql import ident, literal

log = logging.getLogger(__name__)

STORAGE_VERSION = "v1.4.0"
PUBLISHED_SCHEMAS = ("marts", "ops")
# Raw rows may carry private persons' ids and texts: the published quarantine keeps file, line
# and reason only (the full row stays in the private warehouse).
REDACTED_COLUMNS = {("ops", "quarantine"): ("raw_row",)}

# Test hook of tests/test_crash_safety.py: with GOVPULSE_CRASH_PAUSE=<point>, a publisher reaching
# that point creates the file GOVPULSE_CRASH_PAUSE_MARKER and waits there to be killed (the one
# moment no outside observer can catch: the copy is complete, not yet renamed). Unset: nothing.
CRASH_PAUSE_ENV = "GOVPULSE_CRASH_PAUSE"
CRASH_PAUSE_MARKER_ENV = "GOVPULSE_CRASH_PAUSE_MARKER"






def previous_of(target: Path) -> Path:
    """Where the file a publication replaced is kept: `warehouse.previous.duckdb`."""
    return target.with_name(f"{target.stem}.previous{target.suffix}")


def publish(warehouse: Path, target: Path,
            finish: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> Path:
    """Write `target` atomically from the private warehouse; return its path. `finish` runs on
    the copy (attached as `pub`) before it is renamed into place, e.g. to record the run's
    outcome in the published ops.runs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    tmp = _temp_of(target, os.getpid())
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        _write_copy(warehouse, tmp, finish)
        _pause_point("before-replace")
        _keep_previous(target)
    except BaseException as exc:
        # nothing of a copy that failed is left behind (a full disk is not made fuller); the
        # published file and the previous one were never touched
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal"), _previous_link(target)):
            leftover.unlink(missing_ok=True)
        if _disk_full(exc):
            raise DiskFull(_disk_full_message(target)) from exc
        raise
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    _pause_point("after-replace")
    return target


def _write_copy(warehouse: Path, tmp: Path,
                finish: Callable[[duckdb.DuckDBPyConnection], None] | None) -> None:
    con = duckdb.connect(config={"memory_limit": memory_limit()})
    try:
        con.execute(f"ATTACH {literal(str(warehouse))} AS src (READ_ONLY)")
        con.execute(f"ATTACH {literal(str(tmp))} AS pub (STORAGE_VERSION '{STORAGE_VERSION}')")
        _copy(con, catalog=warehouse.stem)
        if finish is not None:
            finish(con)
        con.execute("USE memory")
        con.execute("DETACH pub")
    finally:
        con.close()
    with tmp.open("rb") as f:
        os.fsync(f.fileno())


class DiskFull(OSError):
    """The published copy did not fit on its disk; nothing published was changed."""


def _disk_full(exc: BaseException) -> bool:
    # DuckDB reports a failed write as an IOException carrying the OS's words
    return (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or (
        isinstance(exc, duckdb.Error) and "No space left on device" in str(exc))


def _disk_full_message(target: Path) -> str:
    free = shutil.disk_usage(target.parent).free
    size = target.stat().st_size if target.exists() else None
    needs = f" (the published file takes {size / 2**20:,.1f} MiB; a new copy needs about as " \
            "much again)" if size is not None else ""
    return (f"no space left on the disk of {target.parent} while writing the new published copy: "
            f"{free / 2**20:,.1f} MiB free{needs}. The published file and the previous one are "
            "untouched and the partial copy was removed; free space there and run the period "
            "again")


def restore_previous(target: Path) -> Path:
    """Swap the published file and the one it replaced, in one step (the swapped-out file is
    kept as the previous one, so a second restore undoes the first); return the previous path.
    """
    previous = previous_of(target)
    if not previous.exists():
        raise FileNotFoundError(f"no previous published file next to {target} ({previous.name}"
                                ": nothing was published over it yet)")
    if target.exists() and exchange(previous, target):
        _fsync_dir(target.parent)
        return previous
    # no atomic exchange here: a second name for the current file, then two renames; the
    # target always names a complete file
    aside = target.with_name(f".{target.name}.{os.getpid()}.aside")
    aside.unlink(missing_ok=True)
    if target.exists():
        os.link(target, aside)
    os.replace(previous, target)
    if aside.exists():
        os.replace(aside, previous)
    _fsync_dir(target.parent)
    return previous


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove the temporary copies (and their .wal) a killed publisher left next to `target`;
    a copy of a publisher still alive is left alone. Returns what was removed. Liveness is
    judged by process id on this host: every publisher of a folder runs on one host (in
    compose, the scheduler's container)."""
    removed = []
    leftovers = [*target.parent.glob(f".{target.name}.*.tmp*"),
                 *target.parent.glob(f".{target.name}.*.aside")]
    for path in leftovers:
        pid = path.name[len(target.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.warning("removed temporary files of an interrupted publish: %s",
                    ", ".join(p.name for p in removed))
    return removed


def _temp_of(target: Path, pid: int) -> Path:
    return target.with_name(f".{target.name}.{pid}.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _keep_previous(target: Path) -> None:
    """Give the current published file its second name before it is replaced: a hard link taken
    under a temporary name and renamed, so neither name is ever missing or half-written."""
    if not target.exists():
        return
    link = _previous_link(target)
    link.unlink(missing_ok=True)
    try:
        os.link(target, link)
    except OSError as exc:  # a file system without hard links (some SMB or desktop mounts)
        log.warning("no hard link in %s (%s): the previous file is copied", target.parent, exc)
        shutil.copy2(target, link)
    os.replace(link, previous_of(target))


def _previous_link(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.tmp.previous")


def _fsync_dir(folder: Path) -> None:
    """Make the renames durable (a power cut must not bring back the old names). Done after
    the rename: a file system that cannot sync a folder must not fail a finished publish."""
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        log.warning("could not sync the folder %s: %s", folder, exc)


def _pause_point(name: str) -> None:
    if settings.env(CRASH_PAUSE_ENV) != name:
        return
    marker = settings.env(CRASH_PAUSE_MARKER_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    print(f"govpulse: paused at crash point {name}, waiting to be killed", file=sys.stderr,
          flush=True)
    while True:
        time.sleep(1)


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
        replace = ", ".join(f"NULL AS {ident(c)}" for c in redacted)
        columns = f"* REPLACE ({replace})" if replace else "*"
        con.execute(
            f"CREATE TABLE pub.{schema}.{ident(name)} AS "
            f"SELECT {columns} FROM src.{schema}.{ident(name)}"
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
    schemas = ", ".join(literal(s) for s in PUBLISHED_SCHEMAS)
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
        target = f"pub.{ident(schema)}.{ident(name)}"
        if column is not None:
            target += f".{ident(column)}"
        con.execute(f"COMMENT ON {kind} {target} IS {literal(comment)}")


def _unqualified(view_sql: str, catalog: str) -> str:
    """dbt writes views naming the warehouse's catalog; in the published file they must not."""
    return view_sql.replace(f"{ident(catalog)}.", "").replace(f"{catalog}.", "")
