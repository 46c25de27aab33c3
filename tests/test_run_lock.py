"""The warehouse run lock (govpulse/run/lock.py) between real processes: who holds it is said,
a second holder waits or is refused, a nested hold is the same hold, and a holder killed with
SIGKILL leaves it free."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from govpulse.run import lock as run_lock

HOLDER = """
import sys, time
from pathlib import Path
from govpulse.run import lock as run_lock
with run_lock.hold(Path(sys.argv[1]), "weekly", "2026-11-13"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(warehouse: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(warehouse), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_held_warehouse_names_its_holder_and_refuses_without_wait(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    assert run_lock.holder_of(warehouse) is None
    proc = _holder(warehouse, 60)
    try:
        holder = run_lock.holder_of(warehouse)
        assert holder is not None
        assert (holder["kind"], holder["period"], holder["pid"]) == (
            "weekly", "2026-11-13", proc.pid)
        expected = rf"another run \(weekly 2026-11-13, started .*, pid {proc.pid} on host"
        with (pytest.raises(run_lock.WarehouseBusy, match=expected),
              run_lock.hold(warehouse, "monthly", "2026-11", wait=False)):
            pass
    finally:
        proc.kill()
        proc.wait()


def test_a_second_run_waits_saying_for_whom_then_holds_it(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    proc = _holder(warehouse, 2)
    stream = io.StringIO()
    began = time.monotonic()
    with run_lock.hold(warehouse, "monthly", "2026-11", stream=stream):
        waited = time.monotonic() - began
        # inside: a nested hold (the CLI around the runner) is the same hold
        with run_lock.hold(warehouse, "monthly", "2026-11", wait=False):
            pass
    proc.wait()
    assert waited > 1.0, "held the lock while the other holder still slept in it"
    assert stream.getvalue().startswith("waiting: another run (weekly 2026-11-13, started ")


def test_a_holder_killed_with_sigkill_leaves_the_warehouse_free(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    proc = _holder(warehouse, 60)
    assert run_lock.holder_of(warehouse) is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert run_lock.holder_of(warehouse) is None
    with run_lock.hold(warehouse, "weekly", "2026-11-20", wait=False):
        pass


def test_a_scheduled_start_waits_until_the_warehouse_is_free(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    proc = _holder(warehouse, 1.5)
    freed = threading.Event()
    thread = threading.Thread(target=lambda: (run_lock.wait_until_free(warehouse), freed.set()))
    thread.start()
    assert not freed.wait(0.3)  # still held
    thread.join(timeout=30)
    proc.wait()
    assert freed.is_set()
