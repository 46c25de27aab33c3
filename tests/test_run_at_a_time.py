"""Runs that cannot trample each other, retries without false alarms, and a full disk while
publishing — each through the real weekly DAG (issue 14, cases 4 and 9, and item 11).

- Two `govpulse run` processes on one warehouse: the second waits for the first, saying which
  run holds the warehouse; with --no-wait it is refused naming that run; neither is marked
  interrupted and each prints only its own tasks.
- A task whose first try fails on a warehouse lock another process holds, and whose retry
  succeeds: the run succeeds, it is never marked failed and no `run_failed` alert is posted.
- A publication that hits ENOSPC (the publish folder on a small tmpfs): the published file and
  the previous one stay byte for byte, no temporary file is left, the run fails saying the disk
  is full and a `publish_failed` alert is recorded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from govpulse.orchestration.runner import run_weekly
from govpulse.publish.warehouse_file import previous_of, publish
from govpulse.run import lock as run_lock
from govpulse.run import notify
from govpulse.settings import Paths
from tests.test_notify import webhook

GOVPULSE = Path(sys.executable).parent / "govpulse"
WEEK_A, WEEK_B = date(2026, 10, 30), date(2026, 11, 6)
RUN_TIMEOUT = 600


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny generated registry and inbox of two weeks (read by every test, never written)."""
    from devtools.generate import generate

    root = tmp_path_factory.mktemp("generated")
    generate(root, weeks=2, scale=0.0002, seed=11, first_period_start=WEEK_A)
    return root


def _paths(generated: Path, root: Path, publish_dir: Path | None = None) -> Paths:
    inbox = root / "inbox"
    shutil.copytree(generated / "inbox", inbox)
    return Paths.resolve(inbox, generated / "registry", root / "private" / "warehouse.duckdb",
                         publish_dir or root / "publish")


def _runs(paths: Paths) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute("SELECT period_start, status, message FROM ops.runs "
                           "ORDER BY started_at").fetchall()


# --- two runs at once --------------------------------------------------------------------------


def _launch(paths: Paths, week: date, log: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "GOVPULSE_INBOX": str(paths.inbox),
           "GOVPULSE_REGISTRY": str(paths.registry), "GOVPULSE_WAREHOUSE": str(paths.warehouse),
           "GOVPULSE_PUBLISH_DIR": str(paths.publish_dir)}
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(GOVPULSE), "run", "weekly", "--period-start", week.isoformat(), "--no-docs",
             *extra], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(proc: subprocess.Popen, timeout: float = RUN_TIMEOUT) -> int:
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


@pytest.fixture(scope="module")
def two_at_once(airflow_db: Path, generated: Path,
                tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run A (week A) starts; once it holds the warehouse, run C (week B, --no-wait) and run B
    (week B, waiting) start too."""
    root = tmp_path_factory.mktemp("two_at_once")
    paths = _paths(generated, root)
    logs = {name: root / f"{name}.log" for name in "ABC"}
    a = _launch(paths, WEEK_A, logs["A"])
    try:
        deadline = time.monotonic() + 120
        while run_lock.holder_of(paths.warehouse) is None:
            assert a.poll() is None, logs["A"].read_text()
            assert time.monotonic() < deadline, "run A never took the warehouse"
            time.sleep(0.1)
        c = _launch(paths, WEEK_B, logs["C"], "--no-wait")
        code_c = _wait(c, 120)
        a_running_when_c_ended = a.poll() is None
        b = _launch(paths, WEEK_B, logs["B"])
        code_a, code_b = _wait(a), _wait(b)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(a.pid, 9)
    return {"paths": paths, "codes": {"A": code_a, "B": code_b, "C": code_c},
            "a_running_when_c_ended": a_running_when_c_ended,
            "logs": {name: log.read_text() for name, log in logs.items()}}


def test_both_runs_publish_their_week(two_at_once: dict) -> None:
    assert two_at_once["codes"]["A"] == 0, two_at_once["logs"]["A"][-3000:]
    assert two_at_once["codes"]["B"] == 0, two_at_once["logs"]["B"][-3000:]
    runs = _runs(two_at_once["paths"])
    assert [(start, status) for start, status, _ in runs] == [
        (WEEK_A, "success"), (WEEK_B, "success")], runs


def test_the_second_run_waited_saying_for_whom(two_at_once: dict) -> None:
    log = two_at_once["logs"]["B"]
    assert f"waiting: another run (weekly {WEEK_A}" in log, log[:2000]
    assert "holds the warehouse" in log


def test_with_no_wait_the_second_run_is_refused_naming_the_holder(two_at_once: dict) -> None:
    assert two_at_once["a_running_when_c_ended"], "run A ended before C was refused: no test"
    assert two_at_once["codes"]["C"] == 1
    log = two_at_once["logs"]["C"]
    assert f"another run (weekly {WEEK_A}, started " in log, log[-2000:]
    assert "holds the warehouse" in log
    assert "Traceback" not in log and "Could not set lock" not in log


def test_each_run_shows_only_its_own_tasks(two_at_once: dict) -> None:
    logs = two_at_once["logs"]
    assert f"run weekly-{WEEK_A}-" in logs["A"] and f"run weekly-{WEEK_B}-" not in logs["A"]
    assert f"run weekly-{WEEK_B}-" in logs["B"] and f"run weekly-{WEEK_A}-" not in logs["B"]
    for name in "AB":
        assert logs[name].count("✓ publish") == 1, logs[name]
        assert "Traceback" not in logs[name] and "Could not set lock" not in logs[name]


# --- a retry that mends a failure --------------------------------------------------------------

def _tries(airflow_db: Path, task_id: str) -> tuple[int, str] | None:
    """(try number, state) of the task in the latest weekly run, None before it exists."""
    with sqlite3.connect(f"file:{airflow_db / 'airflow.db'}?mode=ro", uri=True,
                         timeout=5) as db:
        return db.execute(
            "SELECT try_number, state FROM task_instance WHERE dag_id = 'weekly_ratings' "
            "AND task_id = ? ORDER BY start_date DESC LIMIT 1", [task_id]).fetchone()


def _mend_when_retried(airflow_db: Path, blocker: Path, stop: threading.Event) -> None:
    """Once `publish` is up for retry, replace the file that blocks it by its folder."""
    while not stop.wait(0.2):
        with contextlib.suppress(sqlite3.Error):
            if (_tries(airflow_db, "publish") or (0, ""))[1] == "up_for_retry":
                blocker.unlink()
                blocker.mkdir()
                return


@pytest.fixture(scope="module")
def retried(airflow_db: Path, generated: Path,
            tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The publish folder is not there yet on the first try (a file stands in its place, as a
    mount that is not ready would): publish fails, Airflow retries it, the retry publishes.
    Its published week A is where the full-disk test starts from."""
    paths = _paths(generated, tmp_path_factory.mktemp("retried"))
    paths.publish_dir.write_text("not a folder yet")
    stop = threading.Event()
    mender = threading.Thread(target=_mend_when_retried,
                              args=(airflow_db, paths.publish_dir, stop), daemon=True)
    mender.start()
    try:
        with webhook() as (url, received), pytest.MonkeyPatch.context() as env:
            env.setenv(notify.WEBHOOK_ENV, url)
            outcome = run_weekly(paths, WEEK_A, docs=False)
    finally:
        stop.set()
        mender.join(timeout=10)
    return {"paths": paths, "outcome": outcome, "received": received,
            "tries": _tries(airflow_db, "publish")}


def test_a_task_that_fails_once_and_then_succeeds_raises_no_alarm(retried: dict) -> None:
    """Before, the first failure had already marked the run failed and posted run_failed."""
    assert retried["tries"] == (2, "success"), "publish did not fail once and retry"
    outcome = retried["outcome"]
    assert outcome.ok, outcome.reason
    (_, status, message), = _runs(retried["paths"])
    assert status == "success" and "publish:" not in (message or ""), message
    assert not [r for r in retried["received"] if r["kind"] == "run_failed"], retried["received"]


# --- a full disk while publishing --------------------------------------------------------------


@contextlib.contextmanager
def _small_disk(size_mb: int) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="govpulse-full-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs",
                              str(folder)], capture_output=True)
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a size-limited tmpfs here: {mounted.stderr.decode()[:200]}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        folder.rmdir()


def test_a_full_disk_while_publishing_changes_nothing_published(
        retried: dict, generated: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Starts from a copy of the week A `retried` published (warehouse and published file)."""
    assert retried["outcome"].ok, retried["outcome"].reason
    with _small_disk(256) as disk:
        paths = _paths(generated, tmp_path, publish_dir=disk / "publish")
        shutil.copytree(retried["paths"].warehouse.parent, paths.warehouse.parent)
        paths.publish_dir.mkdir()
        shutil.copy(retried["paths"].published_file, paths.published_file)
        publish(paths.warehouse, paths.published_file)  # so that there is a previous file
        published = paths.published_file.read_bytes()
        previous = previous_of(paths.published_file).read_bytes()
        # leave room for less than half a copy of the published file
        room = shutil.disk_usage(disk).free - len(published) // 2
        with (disk / "filler").open("wb") as filler:
            for _ in range(room // 2**20):
                filler.write(b"\0" * 2**20)
        with webhook() as (url, received):
            monkeypatch.setenv(notify.WEBHOOK_ENV, url)
            outcome = run_weekly(paths, WEEK_B, docs=False)
        left = sorted(p.name for p in paths.publish_dir.iterdir())
        assert paths.published_file.read_bytes() == published
        assert previous_of(paths.published_file).read_bytes() == previous
    assert not outcome.ok
    assert "no space left on the disk" in outcome.reason, outcome.reason
    assert "untouched" in outcome.reason
    assert not [name for name in left if name.endswith((".tmp", ".wal"))], left
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        alerts = con.execute("SELECT kind, message FROM ops.alerts WHERE kind = 'publish_failed'"
                             ).fetchall()
    assert len(alerts) == 1 and "no space left" in alerts[0][1], alerts
    failed = [r for r in received if r["kind"] == "run_failed"]
    assert len(failed) == 1 and "no space left" in failed[0]["text"], received
