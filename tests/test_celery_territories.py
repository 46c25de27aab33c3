"""Two territories at once on Airflow's CeleryExecutor (issue 17, docs/scale-out.md): a real
PostgreSQL (metadata and Celery result backend), a real Redis (the broker), Airflow's
api-server, scheduler and dag-processor, and two `airflow celery worker`s (concurrency 1), all
on 127.0.0.1. Each territory of GOVPULSE_TERRITORIES has its own warehouse pool
(`duckdb_warehouse_<territory_id>`, 1 slot), so the two territories' monthly runs, triggered
through the REST API, run side by side: their tasks run on both workers and overlap in time,
and each territory's published file holds its own rows only. While the first territory lands
its file, the worker running that task is killed with SIGKILL (with its task processes, as when
its machine dies): Airflow notices the missing heartbeats, retries the task on the other
worker, and the run still succeeds with every input record landed exactly once.

Skipped when PostgreSQL's server binaries or Debian's `redis-server` are missing (`.ci/run`
installs both).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from govpulse import deployment
from govpulse.orchestration import airflow_home
from govpulse.settings import PROJECT_DIR
from tests import airflow_services as services

MARI_EL = PROJECT_DIR / "registry" / "ru-mari-el"
HEADER = "incident_id,detected_at,body_id,first_response_at,resolved_at,answer_quality\n"
# Волжский and Горномарийский districts of the Mari El registry
BODIES = ("88604000", "88608000")
# incidents a body in October 2026, per territory: the published ratings tell them apart
INCIDENTS = {"ru-alpha": {BODIES[0]: 2, BODIES[1]: 2},
             "ru-beta": {BODIES[0]: 3, BODIES[1]: 2}}
CONF = {"period_start": "2026-10", "docs": False}
RUN_TIMEOUT = 600  # seconds; both runs take about a minute and a half on 2 idle cores
# the task of the first territory during which its worker is killed (the first one caught
# running: landing takes a few seconds, the raw validation longer)
KILL_DURING = ("land", "validate_raw")
KILLED_TERRITORY = "ru-alpha"


def _incidents(prefix: str, counts: dict[str, int]) -> str:
    rows = [f"{prefix}{body}-{n},2026-10-{n + 2:02d} 09:00,{body},2026-10-{n + 2:02d} 11:00,,4\n"
            for body, count in counts.items() for n in range(1, count + 1)]
    return HEADER + "".join(rows)


def _territories(root: Path) -> dict[str, str]:
    """Two small copies of the Mari El registry under their own ids, each with an October
    incidents file in its own inbox; the environment of a deployment serving both."""
    folder = root / "territories"
    for tid, counts in INCIDENTS.items():
        shutil.copytree(MARI_EL, folder / tid)
        (folder / tid / "territory.yml").write_text(
            f"territory_id: {tid}\ntimezone: Europe/Moscow\nlanguages: [ru]\n"
            "ratings: [incidents]\n", encoding="utf-8")
        inbox = root / "inbox" / tid / "incidents"
        inbox.mkdir(parents=True)
        (inbox / "october.csv").write_text(_incidents(tid[3], counts), encoding="utf-8")
    return {deployment.TERRITORIES_ENV: str(folder), "GOVPULSE_INBOX": str(root / "inbox"),
            "GOVPULSE_WAREHOUSE": str(root / "state" / "warehouse.duckdb"),
            "GOVPULSE_PUBLISH_DIR": str(root / "publish")}


def test_each_territory_has_its_own_warehouse_pool(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Every writer task of a territory's DAGs takes its territory's pool; the pools are
    what ensure_initialized creates."""
    from govpulse.orchestration.dags import MONTHLY, build_rating_dags

    for key, value in _territories(tmp_path).items():
        monkeypatch.setenv(key, value)
    assert [p[0] for p in airflow_home.pools()] == ["duckdb_warehouse_ru-alpha",
                                                    "duckdb_warehouse_ru-beta"]
    for dag_id, dag in build_rating_dags(MONTHLY).items():
        tid = dag_id.split("__")[0]
        writers = {t.pool for t in dag.tasks if t.task_id != "fetch"}
        assert writers == {f"duckdb_warehouse_{tid}"}, dag_id
    monkeypatch.delenv(deployment.TERRITORIES_ENV)
    assert airflow_home.pools() == [airflow_home.POOL]


def test_a_territory_added_later_gets_its_pool(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An Airflow home initialised before GOVPULSE_TERRITORIES (or before a territory was
    added) gets the missing pools, and only those, on the next command."""
    calls: list[tuple[str, ...]] = []
    imported: list[dict] = []

    def airflow(*args: str) -> None:
        calls.append(args[:2])
        if args[:2] == ("pools", "import"):
            imported.append(json.loads(Path(args[2]).read_text(encoding="utf-8")))

    monkeypatch.setattr(airflow_home, "_airflow", airflow)
    monkeypatch.setattr(airflow_home, "airflow_home", lambda: tmp_path / "home")
    # configure() points AIRFLOW_HOME at that home: restored after the test, or every later
    # Airflow test of this worker would find a home without a database
    monkeypatch.setenv("AIRFLOW_HOME", os.environ["AIRFLOW_HOME"])
    monkeypatch.delenv(deployment.TERRITORIES_ENV, raising=False)
    airflow_home.ensure_initialized()
    assert calls == [("db", "migrate"), ("pools", "import")]
    assert imported == [{"duckdb_warehouse": {"slots": 1, "description": airflow_home.POOL[2]}}]
    calls.clear()
    airflow_home.ensure_initialized()
    assert calls == []
    for key, value in _territories(tmp_path).items():
        monkeypatch.setenv(key, value)
    airflow_home.ensure_initialized()
    assert calls == [("pools", "import")]
    assert {name: pool["slots"] for name, pool in imported[-1].items()} == {
        "duckdb_warehouse_ru-alpha": 1, "duckdb_warehouse_ru-beta": 1}
    calls.clear()
    airflow_home.ensure_initialized()
    assert calls == []


@dataclass
class Stack:
    root: Path
    env: dict[str, str]
    processes: services.Processes
    site: services.AirflowSite
    api: services.Api

    def dump_logs(self) -> None:
        print(self.processes.log_tails())
        for log in sorted((self.site.home / "logs").rglob("*.log")):
            print(f"----- task log {log.relative_to(self.site.home)} -----\n"
                  f"{services.tail(log, 30)}")


@pytest.fixture(scope="module")
def redis_bin() -> Path:
    found = services.redis_server_bin()
    if found is None:
        pytest.skip("no redis-server binary (apt-get install redis-server; .ci/run installs it)")
    return found


@pytest.fixture(scope="module")
def stack(postgres_bin: Path, redis_bin: Path,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("celery_territories")
    env = _territories(root)
    (root / "logs").mkdir()
    processes = services.Processes(root / "logs")
    pools = [(airflow_home.warehouse_pool(tid), "1", "one DuckDB writer") for tid in INCIDENTS]
    with services.postgres(postgres_bin, processes) as db, \
            services.redis(redis_bin, processes) as broker:
        site = services.airflow_site(root / "airflow_home", db, env, celery=broker)
        # a killed worker's task is noticed by its missing heartbeats: soon, for the test
        site.env.update({"AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
                         "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL":
                         "5"})
        api = services.Api(site, processes)
        try:
            services.start_airflow(site, processes, pools)
            services.start_celery_workers(site, processes, count=2, concurrency=1)
            api.wait_until_up()
            api.login()
        except BaseException:
            print(processes.log_tails())
            raise
        yield Stack(root, env, processes, site, api)


def _dag_id(tid: str) -> str:
    return deployment.dag_id("monthly", tid)


def _parsed(stack: Stack, dag_id: str) -> bool:
    response = stack.api.http.get(f"{stack.site.api_url}/api/v2/dags/{dag_id}", timeout=30)
    return response.ok


@pytest.fixture(scope="module")
def runs(stack: Stack) -> dict[str, dict[str, Any]]:
    """Both territories' October runs, triggered at once through the REST API, until both end."""
    try:
        run_ids = {}
        for tid in INCIDENTS:
            dag_id = _dag_id(tid)
            stack.api.wait_for(f"the dag-processor parsing {dag_id}",
                               lambda d=dag_id: _parsed(stack, d), 240)
            stack.api.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        for tid in INCIDENTS:
            triggered = stack.api.call("POST", f"/dags/{_dag_id(tid)}/dagRuns",
                                       json={"logical_date": None, "conf": CONF})
            run_ids[tid] = triggered["dag_run_id"]

        killed: dict[str, str] = {}

        def kill_worker_under_landing() -> None:
            """SIGKILL the worker (and every process under it) running the first territory's
            landing, once it is caught running."""
            if killed:
                return
            instances = stack.api.get(f"/dags/{_dag_id(KILLED_TERRITORY)}/dagRuns/"
                                      f"{run_ids[KILLED_TERRITORY]}/taskInstances",
                                      limit=100)["task_instances"]
            for ti in instances:
                if (ti["task_id"] in KILL_DURING and ti["state"] == "running"
                        and ti["hostname"] in stack.processes.running):
                    worker = ti["hostname"]
                    pid = stack.processes.running[worker].pid
                    tree = services._tree([pid])
                    os.killpg(pid, signal.SIGKILL)
                    for child, started in tree.items():
                        services._kill_if_same(child, started)
                    stack.processes.stop(worker, first=signal.SIGKILL, grace=5)
                    killed.update(task_id=ti["task_id"], worker=worker,
                                  try_number=str(ti["try_number"]))
                    print(f"killed {worker} under {KILLED_TERRITORY} {ti['task_id']} "
                          f"try {ti['try_number']}", flush=True)
                    return

        def finished() -> dict[str, dict[str, Any]] | None:
            kill_worker_under_landing()
            done = {tid: stack.api.get(f"/dags/{_dag_id(tid)}/dagRuns/{run_id}")
                    for tid, run_id in run_ids.items()}
            ended = all(r["state"] in ("success", "failed") for r in done.values())
            return done if ended else None

        done = stack.api.wait_for("both territories' runs", finished, RUN_TIMEOUT, every=0.5)
        result: dict[str, dict[str, Any]] = {"killed": killed}
        for tid, run in done.items():
            instances = stack.api.get(f"/dags/{_dag_id(tid)}/dagRuns/{run_ids[tid]}/"
                                      "taskInstances", limit=100)["task_instances"]
            result[tid] = {"run": run, "tasks": instances}
            for ti in sorted(instances, key=lambda ti: ti["start_date"] or ""):
                print(f"{tid} {ti['task_id']:22} {ti['state']:8} {ti['hostname']:8} "
                      f"{ti['start_date']} -> {ti['end_date']} try {ti['try_number']}")
        if any(result[tid]["run"]["state"] != "success" for tid in INCIDENTS):
            stack.dump_logs()
        return result
    except BaseException:
        stack.dump_logs()
        raise


def _interval(ti: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(ti["start_date"]), datetime.fromisoformat(ti["end_date"])


def test_both_territories_runs_succeed(runs: dict[str, dict[str, Any]]) -> None:
    for tid in INCIDENTS:
        result = runs[tid]
        states = {ti["task_id"]: ti["state"] for ti in result["tasks"]}
        assert result["run"]["state"] == "success", (tid, states)
        assert set(states.values()) == {"success"}, (tid, states)
        assert {ti["pool"] for ti in result["tasks"]} == {f"duckdb_warehouse_{tid}"}


def test_tasks_ran_on_both_workers_and_overlapped(runs: dict[str, dict[str, Any]]) -> None:
    hosts = {ti["hostname"] for tid in INCIDENTS for ti in runs[tid]["tasks"]}
    # the API shows each task's latest try; what the killed worker ran before it died (both
    # territories' start, at the same time) is still there
    assert hosts == {"worker1", "worker2"}, hosts
    alpha, beta = (runs[tid]["tasks"] for tid in INCIDENTS)
    overlapping = [(a["task_id"], b["task_id"]) for a in alpha for b in beta
                   if _interval(a)[0] < _interval(b)[1] and _interval(b)[0] < _interval(a)[1]]
    assert overlapping, "the two territories' runs took turns instead of running at once"
    # one worker process each (concurrency 1): tasks that overlap ran on different workers
    by_id = {ti["task_id"]: ti for ti in alpha}, {ti["task_id"]: ti for ti in beta}
    for a, b in overlapping:
        assert by_id[0][a]["hostname"] != by_id[1][b]["hostname"]


def test_each_published_file_holds_its_own_rows(stack: Stack,
                                                runs: dict[str, dict[str, Any]]) -> None:
    assert all(runs[tid]["run"]["state"] == "success" for tid in INCIDENTS)
    publish = Path(stack.env["GOVPULSE_PUBLISH_DIR"])
    for tid, counts in INCIDENTS.items():
        with duckdb.connect(str(publish / tid / "warehouse.duckdb"), read_only=True) as con:
            rated = con.execute("SELECT unit_id, incidents FROM "
                                "marts.rating_incidents_monthly_current ORDER BY unit_id"
                                ).fetchall()
            landed = con.execute("SELECT sum(records) FROM ops.loaded_files").fetchone()
            statuses = con.execute("SELECT status FROM ops.runs").fetchall()
        assert rated == sorted(counts.items()), tid
        assert landed == (sum(counts.values()),), tid
        assert statuses == [("success",)], tid


def test_a_task_whose_worker_was_killed_is_retried_on_the_other(
        stack: Stack, runs: dict[str, dict[str, Any]]) -> None:
    killed = runs["killed"]
    assert killed, f"no worker was caught running {KILLED_TERRITORY}'s {KILL_DURING}"
    retried = next(ti for ti in runs[KILLED_TERRITORY]["tasks"]
                   if ti["task_id"] == killed["task_id"])
    assert retried["state"] == "success"
    assert retried["try_number"] > int(killed["try_number"])
    assert retried["hostname"] != killed["worker"]
    assert runs[KILLED_TERRITORY]["run"]["state"] == "success"
    # every input record landed exactly once: one file, its records, and as many raw rows
    private = Path(stack.env["GOVPULSE_WAREHOUSE"]).parent / KILLED_TERRITORY / "warehouse.duckdb"
    expected = sum(INCIDENTS[KILLED_TERRITORY].values())
    with duckdb.connect(str(private), read_only=True) as con:
        files = con.execute("SELECT count(*), sum(records), sum(rows_loaded), "
                            "sum(rows_quarantined) FROM ops.loaded_files").fetchone()
        raw = con.execute("SELECT count(*), count(DISTINCT incident_id) FROM raw.incidents"
                          ).fetchone()
    assert files == (1, expected, expected, 0)
    assert raw == (expected, expected)
