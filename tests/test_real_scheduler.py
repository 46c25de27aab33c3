"""The real scheduler end to end: Airflow's own api-server, scheduler, dag-processor and
triggerer on 127.0.0.1 with a PostgreSQL metadata database, the LocalExecutor and
SimpleAuthManager as in docker-compose.yml. A generated week is triggered through the
authenticated REST API; the test waits for the run, then reads the published file. The weekly
schedule's data interval is read back from the API as the dag-processor computed it.

Skipped only when no PostgreSQL server binaries exist (`.ci/run` installs Debian's postgresql).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
import requests

from devtools.generate import generate
from govpulse.settings import Paths
from tests import airflow_services as services

WEEK = date(2026, 11, 13)
DAG_ID = "weekly_ratings"
ALMATY = ZoneInfo("Asia/Almaty")
RUN_TIMEOUT = 900  # seconds: generous; the week takes about a minute on 2 idle cores



@dataclass
class Stack:
    root: Path
    paths: Paths
    generated: dict
    processes: services.Processes
    site: services.AirflowSite
    api: services.Api

    @contextlib.contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        """Print the services' logs and the task logs when the block fails (pytest shows the
        captured output of a failing test)."""
        try:
            yield
        except BaseException:
            print(self.processes.log_tails())
            for log in sorted((self.site.home / "logs").rglob("*.log")):
                print(f"----- task log {log.relative_to(self.site.home)} -----\n"
                      f"{services.tail(log, 30)}")
            raise


@pytest.fixture(scope="module")
def stack(postgres_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("real_scheduler")
    generated = generate(root / "data", weeks=1, scale=0.0002, seed=11, first_period_start=WEEK)
    paths = Paths.resolve(inbox=root / "data" / "inbox", registry=root / "data" / "registry",
                          warehouse=root / "private" / "warehouse.duckdb",
                          publish_dir=root / "publish")
    (root / "logs").mkdir()
    processes = services.Processes(root / "logs")
    # leaving the block stops every service (Airflow first, then PostgreSQL), failed or not
    with services.postgres(postgres_bin, processes) as db:
        try:
            # the defaults of a run (a scheduled one has no conf) stay inside the test's folders
            env_paths = {f"GOVPULSE_{k.upper()}": v for k, v in paths.as_strings().items()}
            site = services.airflow_site(root / "airflow_home", db, env_paths)
            services.start_airflow(site, processes)
            api = services.Api(site, processes)
            api.wait_until_up()
        except BaseException:
            print(processes.log_tails())
            raise
        yield Stack(root, paths, generated, processes, site, api)


def _dag(stack: Stack) -> dict | None:
    """The DAG as the API shows it, once the dag-processor has parsed it and computed its next
    data interval."""
    response = stack.api.http.get(f"{stack.site.api_url}/api/v2/dags/{DAG_ID}", timeout=30)
    if response.status_code == 404:
        return None
    assert response.ok, response.text
    dag = response.json()
    return dag if dag.get("next_dagrun_data_interval_start") else None


@pytest.fixture(scope="module")
def logged_in(stack: Stack) -> Stack:
    with stack.logs_on_failure():
        stack.api.login()
        stack.api.wait_for("the dag-processor parsing weekly_ratings", lambda: _dag(stack), 180)
    return stack


def _task_states(stack: Stack, run_id: str) -> dict[str, str]:
    instances = stack.api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances",
                              limit=100)["task_instances"]
    return {(ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"):
            str(ti["state"]) for ti in instances}


@pytest.fixture(scope="module")
def weekly_run(logged_in: Stack) -> dict[str, Any]:
    """Unpause the DAG, trigger the week with its folders in conf, wait for the run to end."""
    stack = logged_in
    with stack.logs_on_failure():
        unpaused = stack.api.call("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
        assert unpaused["is_paused"] is False
        conf = {"period_start": WEEK.isoformat(), **stack.paths.as_strings()}
        triggered = stack.api.call("POST", f"/dags/{DAG_ID}/dagRuns",
                                   json={"logical_date": None, "conf": conf})
        run_id = triggered["dag_run_id"]
        print(f"triggered {DAG_ID} run {run_id} for the week of {WEEK}", flush=True)
        seen: dict[str, str] = {}

        def finished() -> dict | None:
            run = stack.api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}")
            states = _task_states(stack, run_id)
            changed = {task: state for task, state in states.items() if seen.get(task) != state}
            if changed:
                print(f"  run {run['state']}: " + ", ".join(f"{t}={s}" for t, s in
                                                          sorted(changed.items())), flush=True)
                seen.update(changed)
            return run if run["state"] in ("success", "failed") else None

        run = stack.api.wait_for(f"run {run_id}", finished, RUN_TIMEOUT, every=3)
        start = stack.api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/start/"
                              "xcomEntries/return_value")["value"]
        return {"dag_run": run, "tasks": seen, "start": start, "conf": conf}


def test_api_refuses_requests_without_a_valid_token(logged_in: Stack) -> None:
    stack, url = logged_in, logged_in.site.api_url
    with stack.logs_on_failure():
        anonymous = requests.get(f"{url}/api/v2/dags/{DAG_ID}", timeout=30)
        assert anonymous.status_code in (401, 403), anonymous.text
        forged = requests.get(f"{url}/api/v2/dags/{DAG_ID}", timeout=30,
                              headers={"Authorization": "Bearer not-a-token"})
        assert forged.status_code in (401, 403), forged.text
        wrong = requests.post(f"{url}/auth/token", timeout=30, json={
            "username": stack.site.username, "password": stack.site.password + "x"})
        assert wrong.status_code in (401, 403), wrong.text
        trigger = requests.post(f"{url}/api/v2/dags/{DAG_ID}/dagRuns", timeout=30,
                                json={"logical_date": None})
        assert trigger.status_code in (401, 403), trigger.text
        # and the same request with the token is accepted
        assert stack.api.get(f"/dags/{DAG_ID}")["dag_id"] == DAG_ID


def _all_healthy(stack: Stack) -> dict | None:
    health = stack.api.get("/monitor/health")
    parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return health if all((health.get(p) or {}).get("status") == "healthy" for p in parts) else None


def test_every_service_is_healthy_and_every_dag_imports(logged_in: Stack) -> None:
    with logged_in.logs_on_failure():
        logged_in.api.wait_for("every service healthy", lambda: _all_healthy(logged_in), 120)
        errors = logged_in.api.get("/importErrors")
        assert errors["total_entries"] == 0, errors["import_errors"]
        dags = {d["dag_id"] for d in logged_in.api.get("/dags", limit=100)["dags"]}
        assert {"weekly_ratings", "monthly_incidents", "annual_ratings"} <= dags


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_schedule_data_interval_is_friday_to_friday_in_almaty(logged_in: Stack) -> None:
    """The interval the dag-processor computed for the next scheduled run (catchup=False: the
    latest complete week): Friday 00:00 to the next Friday 00:00 Asia/Almaty, 7 days, the run
    due when the week closes. Kazakhstan is on UTC+5 since 2024-03-01 (tzdata 2024a), so the
    week starts on Thursday 19:00 UTC (18:00 UTC was the UTC+6 of before)."""
    with logged_in.logs_on_failure():
        dag = _dag(logged_in)
        assert dag is not None
        start = _instant(dag["next_dagrun_data_interval_start"])
        end = _instant(dag["next_dagrun_data_interval_end"])
        local = start.astimezone(ALMATY)
        assert (local.weekday(), local.time().isoformat()) == (4, "00:00:00"), local
        assert (start.astimezone(UTC).weekday(), start.astimezone(UTC).hour,
                start.astimezone(UTC).minute) == (3, 19, 0), start
        assert end - start == timedelta(days=7)
        assert end.astimezone(ALMATY).weekday() == 4
        assert _instant(dag["next_dagrun_run_after"]) == end
        assert _instant(dag["next_dagrun_logical_date"]) == start
        # the latest week that has closed (catchup=False), not an older or a future one (an
        # hour of slack: a week may close while the test runs)
        now = datetime.now(UTC)
        assert end <= now < end + timedelta(days=7, hours=1), (start, end, now)


def test_schedule_interval_of_a_given_friday() -> None:
    """The same timetable for the week of 2026-11-13 (what a scheduled run of it rates)."""
    from airflow.timetables.base import DataInterval, TimeRestriction

    from govpulse.orchestration.dags import WEEKLY
    from govpulse.periods import DEFAULT_TERRITORY

    before = datetime(2026, 11, 13, tzinfo=ALMATY)  # the week before ended then
    info = WEEKLY.schedule(DEFAULT_TERRITORY).next_dagrun_info(
        last_automated_data_interval=DataInterval(before - timedelta(days=7), before),
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True))
    assert info is not None
    assert info.data_interval.start == datetime(2026, 11, 12, 19, tzinfo=UTC)  # UTC+5
    assert info.data_interval.end == datetime(2026, 11, 19, 19, tzinfo=UTC)
    assert info.data_interval.start.astimezone(ALMATY).date() == WEEK


def test_triggered_week_succeeds(weekly_run: dict[str, Any], logged_in: Stack) -> None:
    with logged_in.logs_on_failure():
        assert weekly_run["dag_run"]["state"] == "success", weekly_run["tasks"]
        assert weekly_run["dag_run"]["conf"] == weekly_run["conf"]
        tasks = weekly_run["tasks"]
        # no platform token is configured: every fetch is skipped, every other step ran
        assert {t: s for t, s in tasks.items() if not t.startswith("fetch")} == {
            t: "success" for t in ("start", "land", "validate_raw", "dbt_transform",
                                   "validate_candidates", "dbt_marts", "publish")}, tasks
        assert {s for t, s in tasks.items() if t.startswith("fetch")} == {"skipped"}, tasks


def test_published_file_has_the_week(weekly_run: dict[str, Any], logged_in: Stack) -> None:
    stack, run_id = logged_in, weekly_run["start"]["run_id"]
    published = stack.paths.published_file
    with stack.logs_on_failure():
        assert published.exists()
        with duckdb.connect(str(published), read_only=True) as con:
            run = con.execute("SELECT status, kind, period_start, revision_published "
                              "FROM ops.runs WHERE run_id = ?", [run_id]).fetchone()
            people = con.execute("SELECT unit_id, revision, final_place "
                                 "FROM marts.rating_people_weekly WHERE period_start = ?",
                                 [WEEK]).fetchall()
            # the regions in force during the week, straight from the registry file
            regions = {r for (r,) in con.execute(
                "SELECT DISTINCT entity_id::VARCHAR FROM read_csv(?, all_varchar = true) "
                "WHERE level = 'region' AND coalesce(valid_from::DATE, DATE '1900-01-01') < ? "
                "AND coalesce(valid_to::DATE, DATE '9999-12-31') >= ?",
                [str(stack.paths.registry / "entities.csv"), WEEK + timedelta(days=7), WEEK],
            ).fetchall()}
            loaded = con.execute(
                "SELECT dataset, list(file ORDER BY file), sum(rows_loaded + rows_quarantined) "
                "FROM ops.loaded_files WHERE run_id = ? GROUP BY dataset", [run_id]).fetchall()
        assert run == ("success", "weekly", WEEK, 1), run
        assert people, "no people rating for the week"
        assert {unit for unit, _, _ in people} == regions
        assert {revision for _, revision, _ in people} == {1}
        assert all(place is not None for _, _, place in people)
        # every generated inbox file landed, and each of its rows was loaded or quarantined:
        # none lost, none twice (the generator counts the rows it wrote, bad ones included)
        inbox = {name: (sorted(d["files"]), d["rows"])
                 for name, d in stack.generated["datasets"].items()
                 if d["rows"] and not any(f.startswith("../") for f in d["files"])}
        assert {name: (files, rows) for name, files, rows in loaded} == inbox
