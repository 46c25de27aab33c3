"""Crash safety (write-audit-publish): `govpulse run weekly` is SIGKILLed with its whole process
group (dbt included) at each task and in the middle of landing, of dbt and of publishing, then
run again. Afterwards the published file is always the previous state (or absent), never
partial; every input row is in raw or in quarantine exactly once; the warehouse reopens; and the
re-run finishes the week.

The kill points are watched from outside: the run's Airflow metadata (a task instance
`running`), the files the run process has open (landing), the dbt child process and the
warehouse's WAL (dbt), the publisher's temporary file. The one moment nobody outside can catch,
the copy complete but not yet renamed, is reached with the publisher's test hook
(GOVPULSE_CRASH_PAUSE, govpulse/publish/warehouse_file.py).

To keep the time down the kills form two sequences of runs, each ending with a run that
finishes: the week A with nothing published yet (kills at start, a fetch, land, mid-landing,
validate_raw), then the week B with A published (the later kills). Every kill is checked right
after it happens; each sequence's last run is the re-run of all of its kills.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import psutil
import pytest

from govpulse.contract import DATASETS
from govpulse.publish.warehouse_file import CRASH_PAUSE_ENV, CRASH_PAUSE_MARKER_ENV, previous_of
from govpulse.settings import Paths

WEEK_A, WEEK_B = date(2026, 10, 30), date(2026, 11, 6)
GOVPULSE = Path(sys.executable).parent / "govpulse"
POLL = 0.005
RUN_TIMEOUT = 600


@dataclass
class Watch:
    """What a kill condition looks at while the run goes."""

    proc: subprocess.Popen
    paths: Paths
    airflow_db: Path
    known_runs: set[str]
    root: Path
    state: dict = field(default_factory=dict)

    def running_tasks(self) -> set[str]:
        try:
            with sqlite3.connect(f"file:{self.airflow_db}?mode=ro", uri=True, timeout=1) as db:
                rows = db.execute("SELECT run_id, task_id FROM task_instance "
                                  "WHERE state = 'running'").fetchall()
        except sqlite3.Error:
            return set()
        return {task for run_id, task in rows if run_id not in self.known_runs}

    def has_open(self, path: str) -> bool:
        """Whether the run process has `path` open (read from /proc: faster than psutil)."""
        fds = Path(f"/proc/{self.proc.pid}/fd")
        try:
            names = os.listdir(fds)
        except OSError:
            return False
        for name in names:
            try:
                if os.readlink(fds / name) == path:
                    return True
            except OSError:
                continue
        return False

    def dbt_alive(self) -> bool:
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return False
        for child in children:
            try:
                if any(Path(part).name == "dbt" for part in child.cmdline()):
                    return True
            except psutil.Error:
                continue
        return False


def at_task(task_id: str) -> Callable[[Watch], bool]:
    return lambda w: task_id in w.running_tasks()


def mid_landing(w: Watch) -> bool:
    """Landing has committed the files before the last one and is at the last (the largest)."""
    last = w.state.setdefault("last_file", str(_inbox_files(w.paths.inbox)[-1]))
    return w.has_open(last)  # only landing opens inbox files (to hash, then to load them)


def mid_dbt(w: Watch) -> bool:
    """dbt (a child process) is building the marts and has committed some models (WAL)."""
    wal = w.paths.warehouse.with_name(w.paths.warehouse.name + ".wal")
    return ("dbt_marts" in w.running_tasks() and wal.exists() and wal.stat().st_size > 0
            and w.dbt_alive())


def mid_publish_writing(w: Watch) -> bool:
    return (w.paths.publish_dir / f".warehouse.duckdb.{w.proc.pid}.tmp").exists()


def publish_written_not_renamed(w: Watch) -> bool:
    return (w.root / "paused").exists()


@dataclass(frozen=True)
class KillPoint:
    name: str
    until: Callable[[Watch], bool]
    env: tuple[tuple[str, str], ...] = ()
    poll: float = POLL  # seconds between looks


# A kill "inside" a task is also a kill at that task: `land` is killed mid-landing, `dbt_marts`
# mid-dbt and `publish` while its copy is written (and once more before the rename).
PHASE_A = [  # the week A, nothing published yet
    KillPoint("start", at_task("start")),
    KillPoint("fetch", at_task("fetch")),
    KillPoint("mid_landing", mid_landing, poll=0),
    KillPoint("validate_raw", at_task("validate_raw")),
]
PHASE_B = [  # the week B (and its files), A published
    KillPoint("dbt_transform", at_task("dbt_transform")),
    KillPoint("validate_candidates", at_task("validate_candidates")),
    KillPoint("mid_dbt", mid_dbt),
    KillPoint("mid_publish_writing", mid_publish_writing),
    KillPoint("publish_written_not_renamed", publish_written_not_renamed,
              ((CRASH_PAUSE_ENV, "before-replace"),)),
]
KILLS = {k.name: ("A", k) for k in PHASE_A} | {k.name: ("B", k) for k in PHASE_B}
AFTER_RENAME = KillPoint("publish_renamed_not_recorded", publish_written_not_renamed,
                         ((CRASH_PAUSE_ENV, "after-replace"),))
INSIDE = {"mid_landing": "land", "mid_dbt": "dbt_marts", "mid_publish_writing": "publish",
          "publish_written_not_renamed": "publish"}


def test_a_kill_hits_every_task_of_the_weekly_dag() -> None:
    from govpulse.orchestration.dags import WEEKLY, build_rating_dag

    tasks = {t.task_id for t in build_rating_dag(WEEKLY).tasks}
    assert {INSIDE.get(name, name) for name in KILLS} == tasks


def _inbox_files(inbox: Path) -> list[Path]:
    """The inbox files in landing order (dataset, then name)."""
    return sorted((p for p in inbox.rglob("*") if p.is_file() and not p.name.startswith(".")),
                  key=lambda p: (p.parent.name, p.name.encode()))


def _records(path: Path) -> int:
    """Records of an input file, counted without the pipeline."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            return sum(1 for row in csv.reader(f) if row) - 1
    if path.suffix == ".jsonl":
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return len(json.loads(path.read_text(encoding="utf-8")))


def _bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _temps(publish_dir: Path) -> list[str]:
    return sorted(p.name for p in publish_dir.glob(".warehouse.duckdb.*")) \
        if publish_dir.exists() else []


def _warehouse_state(paths: Paths) -> dict:
    """Reopen the warehouse after a kill (its WAL replayed) and read what the checks need."""
    empty = {"raw": {}, "quarantine": {}, "loaded": [], "runs": [], "loaders": set(),
             "validated": set()}
    if not paths.warehouse.exists():  # killed before `start` created it
        return empty
    with duckdb.connect(str(paths.warehouse)) as con:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops' "
                           "AND table_name = 'loaded_files'").fetchone()[0]:
            return empty
        raw: dict[str, int] = {}
        for dataset in DATASETS:
            for file, n in con.execute(
                    f'SELECT _file, count(*) FROM raw."{dataset}" GROUP BY _file').fetchall():
                raw[file] = raw.get(file, 0) + n
        return {
            "raw": raw,
            "quarantine": dict(con.execute(
                "SELECT file, count(*) FROM ops.quarantine GROUP BY file").fetchall()),
            "loaded": con.execute(
                "SELECT file, count(*) OVER (PARTITION BY file_hash) FROM ops.loaded_files"
            ).fetchall(),
            "runs": con.execute(
                "SELECT run_id, period_start, status, started_at, revision_published "
                "FROM ops.runs ORDER BY started_at").fetchall(),
            "loaders": {r for (r,) in con.execute(
                "SELECT run_id FROM ops.loaded_files").fetchall()},
            "validated": {r for (r,) in con.execute(
                "SELECT run_id FROM ops.validations").fetchall()},
        }


def _launch(paths: Paths, week: date, log: Path, env: dict[str, str]) -> subprocess.Popen:
    full_env = {**os.environ, "GOVPULSE_INBOX": str(paths.inbox),
                "GOVPULSE_REGISTRY": str(paths.registry),
                "GOVPULSE_WAREHOUSE": str(paths.warehouse),
                "GOVPULSE_PUBLISH_DIR": str(paths.publish_dir), **env}
    with log.open("ab") as out:
        return subprocess.Popen(
            # docs off: they are written after the file is published and cost a dbt start
            [str(GOVPULSE), "run", "weekly", "--period-start", week.isoformat(), "--no-docs"],
            env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _airflow_runs(airflow_db: Path) -> set[str]:
    with sqlite3.connect(airflow_db) as db:
        return {r for (r,) in db.execute("SELECT run_id FROM dag_run")}


def _kill_at(point: KillPoint, week: date, paths: Paths, airflow_db: Path,
             root: Path) -> dict:
    """Run the week until the point is reached, SIGKILL the process group, look at the
    leftovers."""
    before, previous_before = _bytes(paths.published_file), _bytes(previous_of(
        paths.published_file))
    runs_before = {r[0] for r in _warehouse_state(paths)["runs"]}
    (root / "paused").unlink(missing_ok=True)
    env = dict(point.env) | ({CRASH_PAUSE_MARKER_ENV: str(root / "paused")} if point.env else {})
    log = root / f"{point.name}.log"
    known = _airflow_runs(airflow_db)
    proc = _launch(paths, week, log, env)
    watch = Watch(proc, paths, airflow_db, known, root)
    deadline = time.monotonic() + RUN_TIMEOUT
    group: list[psutil.Process] = []
    try:
        while not point.until(watch):
            if proc.poll() is not None:
                pytest.fail(f"the run ended before {point.name}: {log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{point.name} not reached in {RUN_TIMEOUT} s")
            time.sleep(point.poll)
        group = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        dbt_was_alive = watch.dbt_alive()
        temps_at_kill = _temps(paths.publish_dir)
    finally:
        with contextlib.suppress(ProcessLookupError):  # ended by itself: the test says why
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    _, alive = psutil.wait_procs(group, timeout=30)
    assert not alive, f"processes of the killed run still alive: {alive}"
    state = _warehouse_state(paths)
    weeks = None
    if paths.published_file.exists():  # it opens, and which weeks it has
        with duckdb.connect(str(paths.published_file), read_only=True) as con:
            weeks = {w for (w,) in con.execute(
                "SELECT DISTINCT period_start FROM marts.rating_people_weekly").fetchall()}
    return {
        "inbox": [f.relative_to(paths.inbox).as_posix() for f in _inbox_files(paths.inbox)],
        "published_weeks": weeks,
        "before": before, "after": _bytes(paths.published_file),
        "previous_before": previous_before,
        "previous_after": _bytes(previous_of(paths.published_file)),
        "temps_at_kill": temps_at_kill, "temps_after": _temps(paths.publish_dir),
        "dbt_was_alive": dbt_was_alive, "pid": proc.pid, "state": state,
        "killed_runs": [r[0] for r in state["runs"] if r[0] not in runs_before],
    }


def _finish(week: date, paths: Paths, root: Path) -> dict:
    before = _bytes(paths.published_file)
    log = root / f"finish-{week}.log"
    proc = _launch(paths, week, log, {})
    try:
        code = proc.wait(timeout=RUN_TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert code == 0, log.read_text()[-4000:]
    return {"before": before, "after": _bytes(paths.published_file),
            "inbox": [f.relative_to(paths.inbox).as_posix() for f in _inbox_files(paths.inbox)],
            "state": _warehouse_state(paths), "temps": _temps(paths.publish_dir),
            "log": log.read_text()}


@pytest.fixture(scope="module")
def crashes(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    from devtools.generate import generate

    root = tmp_path_factory.mktemp("crash")
    generated = root / "generated"
    generate(generated, weeks=2, scale=0.0002, seed=7, first_period_start=WEEK_A)
    inbox = root / "inbox"
    b_files = []
    for path in (generated / "inbox").rglob("*"):
        if path.is_file():
            is_a = path.name.startswith((WEEK_A.isoformat(), f"{WEEK_A:%Y-%m}_"))
            target = inbox / path.relative_to(generated / "inbox")
            if not is_a:
                b_files.append((path, target))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    paths = Paths.resolve(inbox, generated / "registry", root / "private" / "warehouse.duckdb",
                          root / "publish")
    out: dict = {"paths": paths, "kills": {}}
    metadata = airflow_db / "airflow.db"  # the SQLite metadata the runs share
    for point in PHASE_A:
        out["kills"][point.name] = _kill_at(point, WEEK_A, paths, metadata, root)
    out["A"] = _finish(WEEK_A, paths, root)
    for source, target in b_files:  # the week B's files arrive
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for point in PHASE_B:
        out["kills"][point.name] = _kill_at(point, WEEK_B, paths, metadata, root)
    out["B"] = _finish(WEEK_B, paths, root)
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        out["published_b"] = con.execute(
            "SELECT DISTINCT r.revision, r.published_at = o.started_at FROM "
            "marts.rating_people_weekly r JOIN ops.runs o ON o.status = 'success' "
            "AND o.period_start = r.period_start WHERE r.period_start = ?", [WEEK_B]).fetchall()
        out["published_runs"] = con.execute(
            "SELECT run_id, period_start, status, revision_published FROM ops.runs "
            "ORDER BY started_at").fetchall()
    out["previous_after_B"] = _bytes(previous_of(paths.published_file))
    # a re-run of B killed after its copy was renamed into place, before the warehouse heard
    out["renamed"] = _kill_at(AFTER_RENAME, WEEK_B, paths, metadata, root)
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        out["renamed"]["published_status"] = con.execute(
            "SELECT status FROM ops.runs WHERE run_id = ?",
            [out["renamed"]["killed_runs"][0]]).fetchone()
    out["C"] = _finish(WEEK_B, paths, root)
    return out


def _accounting(state: dict, inbox: Path) -> None:
    """Every file landed is complete (raw + quarantine = its records), every other file has no
    row anywhere, and each content is recorded once."""
    loaded = {file for file, _ in state["loaded"]}
    assert all(n == 1 for _, n in state["loaded"]), state["loaded"]
    for path in _inbox_files(inbox):
        relative = path.relative_to(inbox).as_posix()
        rows = state["raw"].get(relative, 0) + state["quarantine"].get(relative, 0)
        assert rows == (_records(path) if relative in loaded else 0), relative


@pytest.mark.parametrize("point", list(KILLS))
def test_a_kill_leaves_the_published_file_as_it_was(crashes: dict, point: str) -> None:
    phase, _ = KILLS[point]
    kill = crashes["kills"][point]
    if phase == "A":
        assert kill["before"] is None and kill["after"] is None  # nothing half-published
    else:
        assert kill["before"] is not None
        assert kill["after"] == kill["before"]  # byte for byte
        assert kill["published_weeks"] == {WEEK_A}
    assert kill["previous_after"] == kill["previous_before"]


@pytest.mark.parametrize("point", list(KILLS))
def test_after_a_kill_the_warehouse_reopens_with_every_file_whole_or_absent(
    crashes: dict, point: str
) -> None:
    kill = crashes["kills"][point]
    _accounting(kill["state"], crashes["paths"].inbox)
    # the killed run registered itself (except when killed inside `start`) and stays unfinished
    # until the next run starts
    assert [r[2] for r in kill["state"]["runs"] if r[0] in kill["killed_runs"]] in (
        [], ["running"], ["publishing"])


def test_mid_landing_kill_left_some_files_landed_and_some_not(crashes: dict) -> None:
    kill = crashes["kills"]["mid_landing"]
    landed = {file for file, _ in kill["state"]["loaded"]}
    files = kill["inbox"]  # the week A's files, in landing order
    assert landed == set(files[:-1])  # every file before the last one, and not the last


def test_mid_dbt_kill_hit_a_live_dbt(crashes: dict) -> None:
    assert crashes["kills"]["mid_dbt"]["dbt_was_alive"]


def test_mid_publish_kills_left_temp_files_the_next_publish_removes(crashes: dict) -> None:
    writing = crashes["kills"]["mid_publish_writing"]
    assert f".warehouse.duckdb.{writing['pid']}.tmp" in writing["temps_after"]
    written = crashes["kills"]["publish_written_not_renamed"]
    # the killed copy of the run before is gone; this run's complete copy is left
    assert f".warehouse.duckdb.{written['pid']}.tmp" in written["temps_after"]
    assert not any(str(writing["pid"]) in name for name in written["temps_after"])
    assert crashes["B"]["temps"] == []


@pytest.mark.parametrize("point", list(KILLS))
def test_the_rerun_finishes_the_week(crashes: dict, point: str) -> None:
    phase, _ = KILLS[point]
    done = crashes[phase]
    week = WEEK_A if phase == "A" else WEEK_B
    assert done["after"] is not None and done["after"] != done["before"]
    runs = {r[0]: r for r in done["state"]["runs"]}
    for run_id in crashes["kills"][point]["killed_runs"]:  # marked, not left running
        assert runs[run_id][2] == "interrupted", runs[run_id]
    last = done["state"]["runs"][-1]
    assert (last[1], last[2], last[4]) == (week, "success", 1)
    _accounting(done["state"], crashes["paths"].inbox)
    assert sorted(file for file, _ in done["state"]["loaded"]) == sorted(done["inbox"])
    with duckdb.connect(str(crashes["paths"].published_file), read_only=True) as con:
        assert con.execute("SELECT max(revision) FROM marts.rating_people_weekly_current "
                           "WHERE period_start = ?", [week]).fetchone()[0] == 1


def test_rows_landed_by_killed_runs_are_validated_by_the_rerun(crashes: dict) -> None:
    """mid_landing's run landed files and was killed before validating them; the next run
    skipped those files as loaded, and validated their rows as well as its own."""
    state = crashes["B"]["state"]
    assert crashes["kills"]["mid_landing"]["killed_runs"][0] in state["loaders"]
    assert state["loaders"] <= state["validated"]


def test_a_revision_of_a_killed_run_is_withdrawn_and_published_once(crashes: dict) -> None:
    """dbt_marts appended B's revision 1 for the runs killed after it; the re-run withdrew it
    and appended it again: the published history has one revision 1, from the run that
    published it."""
    assert crashes["published_b"] == [(1, True)]
    statuses = [(period, status) for _, period, status, _ in crashes["published_runs"]]
    assert statuses.count((WEEK_B, "success")) == 1
    assert (WEEK_B, "running") not in statuses and (WEEK_B, "publishing") not in statuses


def test_the_previous_published_file_is_kept(crashes: dict) -> None:
    assert crashes["previous_after_B"] == crashes["A"]["after"]


def test_a_run_killed_after_its_file_was_renamed_is_recorded_as_it_ended(crashes: dict) -> None:
    """The new file is in place and says how the run ended; the warehouse still says
    `publishing`. The next run takes the outcome from the published file: the run published,
    it was not interrupted."""
    kill = crashes["renamed"]
    assert kill["after"] not in (None, kill["before"])
    assert kill["published_weeks"] == {WEEK_A, WEEK_B}
    assert kill["previous_after"] == kill["before"]
    killed = kill["killed_runs"][0]
    assert [r[2] for r in kill["state"]["runs"] if r[0] == killed] == ["publishing"]
    assert kill["published_status"] == ("unchanged",)  # nothing new for B since its revision 1
    done = crashes["C"]
    runs = {r[0]: r for r in done["state"]["runs"]}
    assert runs[killed][2] == "unchanged"
    assert done["state"]["runs"][-1][2] == "unchanged"
    _accounting(done["state"], crashes["paths"].inbox)


# The previous published file, its restore and the temporary files of a killed publisher; fast
# (no DAG run).

def _tiny_warehouse(path: Path, value: int) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS ops")
        con.execute("CREATE OR REPLACE TABLE marts.t AS SELECT ?::INTEGER AS v", [value])
        con.execute("CREATE OR REPLACE TABLE ops.runs AS SELECT 'r' AS run_id")
    return path


def _value(published: Path) -> int:
    with duckdb.connect(str(published), read_only=True) as con:
        return con.execute("SELECT v FROM marts.t").fetchone()[0]


def test_publish_keeps_the_previous_file_and_restore_previous_swaps_it_back(
    tmp_path: Path,
) -> None:
    from govpulse.cli import main
    from govpulse.publish.warehouse_file import publish

    warehouse, target = tmp_path / "w.duckdb", tmp_path / "publish" / "warehouse.duckdb"
    publish(_tiny_warehouse(warehouse, 1), target)
    first = target.read_bytes()
    assert not previous_of(target).exists()
    # what a killed publisher leaves (its pid is gone), and the copy of one still at work
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = target.with_name(f".warehouse.duckdb.{dead.pid}.tmp")
    stale_wal = stale.with_name(stale.name + ".wal")
    stale.write_bytes(b"half a file")
    stale_wal.write_bytes(b"wal")
    working = subprocess.Popen(["sleep", "60"])
    try:
        busy = target.with_name(f".warehouse.duckdb.{working.pid}.tmp")
        busy.write_bytes(b"being written")
        publish(_tiny_warehouse(warehouse, 2), target)
        assert busy.exists()
    finally:
        working.kill()
        working.wait()
    second = target.read_bytes()
    assert _value(target) == 2
    assert previous_of(target).read_bytes() == first
    assert not stale.exists() and not stale_wal.exists()

    assert main(["restore-previous", "--publish-dir", str(target.parent)]) == 0
    assert target.read_bytes() == first and _value(target) == 1
    assert previous_of(target).read_bytes() == second
    assert main(["restore-previous", "--publish-dir", str(target.parent)]) == 0  # undo
    assert target.read_bytes() == second and previous_of(target).read_bytes() == first


def test_restore_previous_without_a_previous_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from govpulse.cli import main
    from govpulse.publish.warehouse_file import publish

    publish(_tiny_warehouse(tmp_path / "w.duckdb", 1), tmp_path / "p" / "warehouse.duckdb")
    assert main(["restore-previous", "--publish-dir", str(tmp_path / "p")]) == 2
    assert "no previous published file" in capsys.readouterr().err
    assert _value(tmp_path / "p" / "warehouse.duckdb") == 1
