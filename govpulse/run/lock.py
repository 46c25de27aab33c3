"""One run at a time per warehouse: a lock file next to it, held for a whole run.

DuckDB lets one process write a file at a time, and a run is many steps (tasks, dbt processes)
that each open and close the warehouse. Two runs on one warehouse would interleave those steps:
the second run's start would take the first for a dead run and settle it, each would watch the
other's tasks, and the loser of every race would see lock errors. So whoever runs a DAG on a
warehouse (`govpulse run`, `backfill`, `withdraw`) holds `<warehouse>.run.lock` with an
advisory `flock` for the whole run; the kernel releases it when the holder dies, even by
SIGKILL, so a crashed run never leaves the warehouse locked. The file also says who holds it
(kind, period, start time, process, host), which is what a waiting or refused run prints.

A run started by Airflow's scheduler has no single process to hold it: its `start` task waits
until no other run holds the lock (`wait_until_free`), so a scheduled week does not start
inside a `govpulse run` on the same warehouse.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from govpulse import settings

log = logging.getLogger(__name__)

# How long a run waits for another to finish before it gives up (a national week is ~10 min).
WAIT_SECONDS_ENV = "GOVPULSE_RUN_LOCK_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 6 * 3600
POLL_SECONDS = 1.0

# Locks this process holds (path -> open file): a nested `hold` of the same warehouse (the CLI
# around the runner) is the same hold, not a deadlock with itself.
_HELD: dict[Path, Any] = {}


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".run.lock")


def describe(holder: dict[str, Any] | None) -> str:
    """'another run (weekly 2026-11-13, started 2026-12-07 15:02:11 UTC, pid 123 on host h)'."""
    if not holder:
        return "another run (it has not said which yet)"
    what = " ".join(str(holder[k]) for k in ("kind", "period") if holder.get(k))
    return (f"another run ({what or 'unknown'}, started {holder.get('started_at', '?')}, "
            f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')})")


def holder_of(warehouse: Path) -> dict[str, Any] | None:
    """Who holds the warehouse, or None when nobody does."""
    path = lock_path(warehouse)
    if not path.exists() or path.resolve() in _HELD:
        return None
    with path.open("a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(f)
        fcntl.flock(f, fcntl.LOCK_UN)
    return None


def _read_holder(f: Any) -> dict[str, Any]:
    f.seek(0)
    try:
        return json.loads(f.read() or "{}")
    except ValueError:  # written at this very moment
        return {}


def _timeout() -> float:
    return settings.seconds(WAIT_SECONDS_ENV, DEFAULT_WAIT_SECONDS)


@contextlib.contextmanager
def hold(warehouse: Path, kind: str, period: str, wait: bool = True,
         stream: TextIO | None = None) -> Iterator[None]:
    """Hold the warehouse for one run. Another holder makes this wait (a line on `stream`
    saying for whom) or, with `wait=False`, raise WarehouseBusy naming the holder."""
    path = lock_path(warehouse).resolve()
    if path in _HELD:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    f = path.open("a+")
    try:
        _acquire(f, warehouse, wait, stream)
        f.seek(0)
        f.truncate()
        f.write(json.dumps({
            "kind": kind, "period": period, "pid": os.getpid(), "host": socket.gethostname(),
            "started_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"}))
        f.flush()
        _HELD[path] = f
        try:
            yield
        finally:
            del _HELD[path]
            f.seek(0)
            f.truncate()
            f.flush()
            fcntl.flock(f, fcntl.LOCK_UN)
    finally:
        f.close()


def _acquire(f: Any, warehouse: Path, wait: bool, stream: TextIO | None) -> None:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        holder = _read_holder(f)
    if not wait:
        raise WarehouseBusy(f"{describe(holder)} holds the warehouse {warehouse}; try again "
                            "when it has finished (or leave out --no-wait to wait for it)")
    line = f"waiting: {describe(holder)} holds the warehouse {warehouse} …"
    log.warning(line)
    if stream is not None:
        stream.write(line + "\n")
        stream.flush()
    deadline = time.monotonic() + _timeout()
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            continue
    raise WarehouseBusy(f"{describe(_read_holder(f))} still holds the warehouse {warehouse} "
                        f"after {_timeout():.0f} s ({WAIT_SECONDS_ENV}); is it stuck?")


def wait_until_free(warehouse: Path) -> None:
    """For a run without a holder of its own (a scheduled run's start task): wait until no
    other run holds the warehouse, or raise WarehouseBusy after the timeout."""
    deadline = time.monotonic() + _timeout()
    said = False
    while (holder := holder_of(warehouse)) is not None:
        if not said:
            log.warning("waiting: %s holds the warehouse %s", describe(holder), warehouse)
            said = True
        if time.monotonic() > deadline:
            raise WarehouseBusy(f"{describe(holder)} still holds the warehouse {warehouse} "
                                f"after {_timeout():.0f} s ({WAIT_SECONDS_ENV})")
        time.sleep(POLL_SECONDS)
