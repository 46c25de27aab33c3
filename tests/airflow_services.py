"""Real services for tests: a throw-away PostgreSQL server and Airflow's own processes.

Everything listens on 127.0.0.1 on free ports and lives in temporary folders; every process is
started in its own process group and the whole group is killed at the end, so nothing outlives
the test even when it fails. Logs go to files that `log_tails()` prints for a failing test.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from govpulse.orchestration import airflow_home
from govpulse.settings import DAGS_DIR

VENV_BIN = Path(sys.executable).parent
PG_USER = "postgres"  # initdb and postgres refuse to run as root
AIRFLOW_USER = "govpulse_test"
# the four long-running processes of an Airflow 3 deployment (docker-compose.yml runs the same)
AIRFLOW_COMMANDS = ("api-server", "scheduler", "dag-processor", "triggerer")
MARKER_ENV = "GOVPULSE_TEST_SERVICES"
WORKER_ENV = "GOVPULSE_TEST_WORKER"  # the Celery worker a task ran on, as its TI hostname


def postgres_bin_dir() -> Path | None:
    """The folder of Debian's PostgreSQL server binaries (newest version), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).resolve().parent / "postgres").exists():
        return Path(initdb).resolve().parent
    return None


def redis_server_bin() -> Path | None:
    """Debian's `redis-server` binary, or None."""
    found = shutil.which("redis-server") or ("/usr/bin/redis-server"
                                             if Path("/usr/bin/redis-server").exists() else None)
    return Path(found) if found else None


def worker_hostname() -> str:
    """`[core] hostname_callable` of the test's Celery workers: the worker's own name
    (worker1, …), so a task instance's hostname says which of two workers on one machine ran
    it (by default both would report the machine's name)."""
    return os.environ.get(WORKER_ENV) or socket.getfqdn()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return f"({path} does not exist)"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


@dataclass
class Processes:
    """Long-running children, each in its own process group, each logging to a file."""

    log_dir: Path
    running: dict[str, subprocess.Popen] = field(default_factory=dict)
    # inherited by every descendant: dbt (Airflow's subprocess hook) starts a session of its
    # own, which a process-group kill does not reach; the marker finds it
    marker: str = field(default_factory=lambda: secrets.token_hex(8))

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(args, env={**env, MARKER_ENV: self.marker}, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        log.close()  # the child holds its own copy
        self.running[name] = proc
        return proc

    def check_alive(self) -> None:
        """Fail fast (with its log) when a service died instead of waiting for a timeout."""
        for name, proc in self.running.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n"
                                   f"{tail(self.log_dir / f'{name}.log')}")

    def stop(self, name: str, first: signal.Signals = signal.SIGTERM, grace: float = 15) -> None:
        proc = self.running.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, first)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
        # the group, not only the leader: task runners, dbt and postgres backends live there too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def stop_all(self, last: str = "postgres", grace: float = 5) -> None:
        """SIGTERM every group at once, SIGKILL what is left after `grace`; `last` (the
        database the others use) only once they are gone."""
        others = [name for name in self.running if name != last]
        # the whole tree first: once a parent is gone, its children can no longer be traced
        tree = _tree([self.running[name].pid for name in others])
        for name in others:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.running[name].pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for name in others:
            self.stop(name, grace=max(0.1, deadline - time.monotonic()))
        for pid, started in tree.items():
            _kill_if_same(pid, started)
        keep = self.running[last].pid if last in self.running else None
        for pid in self.descendants():
            with contextlib.suppress(OSError):
                if os.getpgid(pid) != keep:
                    _kill_if_same(pid, None)  # carries this run's marker: ours
        if last in self.running:
            self.stop(last, first=signal.SIGINT)  # PostgreSQL's fast shutdown

    def descendants(self) -> list[int]:
        """Every live process started from here (they carry the marker in their environment)."""
        needle = f"\0{MARKER_ENV}={self.marker}\0".encode()
        found = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            with contextlib.suppress(OSError):
                if needle in b"\0" + environ.read_bytes():
                    found.append(int(environ.parent.name))
        return found

    def log_tails(self, lines: int = 60) -> str:
        return "\n".join(f"----- {log.name} (last {lines} lines) -----\n{tail(log, lines)}"
                         for log in sorted(self.log_dir.glob("*.log")))


def _stat(pid: int) -> tuple[int, int]:
    """(parent id, start time in clock ticks) of a live process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[19])


def _tree(roots: list[int]) -> dict[int, int]:
    """The live descendants of `roots`, with their start times (to never kill a reused id)."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid, started = _stat(int(entry.name))
            children.setdefault(ppid, []).append((int(entry.name), started))
    found: dict[int, int] = {}
    todo = list(roots)
    while todo:
        for pid, started in children.get(todo.pop(), []):
            found[pid] = started
            todo.append(pid)
    return found


def _kill_if_same(pid: int, started: int | None) -> None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        if started is None or _stat(pid)[1] == started:
            os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class Database:
    port: int
    name: str
    user: str
    password: str = field(repr=False)

    @property
    def sqlalchemy_url(self) -> str:
        return (f"postgresql+psycopg2://{self.user}:{self.password}@127.0.0.1:{self.port}/"
                f"{self.name}")


@contextlib.contextmanager
def postgres(bin_dir: Path, processes: Processes) -> Iterator[Database]:
    """A fresh cluster run by the `postgres` user in a temporary folder: TCP on 127.0.0.1 with
    scram-sha-256, its socket in that folder; a database and a login with a fresh password.
    On leaving, every process in `processes` is stopped (its users first) and the folder goes."""
    # not under pytest's tmp (root-only 0700 parents): postgres must reach its own folder
    root = Path(tempfile.mkdtemp(prefix="govpulse-pg-"))
    try:
        shutil.chown(root, PG_USER, PG_USER)
        data, port = root / "data", free_port()
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"  # util-linux
        as_postgres = [runuser, "-u", PG_USER, "--"]
        subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER,
                        "-E", "UTF8", "--auth-local=trust", "--auth-host=scram-sha-256",
                        "--no-sync", "--no-instructions"],
                       check=True, capture_output=True, text=True)
        # durability does not matter for a throw-away metadata database: skip the fsyncs
        processes.start("postgres", [
            *as_postgres, str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
            "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ], env={**os.environ, "LC_ALL": "C.UTF-8"})
        db = Database(port, "airflow", AIRFLOW_USER, secrets.token_urlsafe(24))
        _create_database(root, db, processes)
        yield db
    finally:
        processes.stop_all()  # whoever uses the database, then the database
        shutil.rmtree(root, ignore_errors=True)


def _create_database(socket_dir: Path, db: Database, processes: Processes) -> None:
    import psycopg2
    from psycopg2 import sql

    deadline = time.monotonic() + 60
    while True:
        processes.check_alive()
        try:
            con = psycopg2.connect(host=str(socket_dir), port=db.port, user=PG_USER,
                                   dbname="postgres")
            break
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    con.autocommit = True  # CREATE DATABASE refuses a transaction block
    with contextlib.closing(con), con.cursor() as cur:
        # the password goes in as a parameter (quoted by the driver), never pasted into SQL
        cur.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(db.user)),
                    [db.password])
        cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(db.name), sql.Identifier(db.user)))


@dataclass(frozen=True)
class Redis:
    port: int

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextlib.contextmanager
def redis(binary: Path, processes: Processes) -> Iterator[Redis]:
    """A throw-away redis-server (Celery's broker) on a free 127.0.0.1 port, in a temporary
    folder, without persistence (no RDB snapshots, no AOF). Stopped with `processes`."""
    root = Path(tempfile.mkdtemp(prefix="govpulse-redis-"))
    try:
        port = free_port()
        processes.start("redis", [
            str(binary), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(root),
            "--save", "", "--appendonly", "no", "--protected-mode", "yes",
            "--daemonize", "no", "--loglevel", "warning",
        ], env=dict(os.environ))
        deadline = time.monotonic() + 30
        while True:
            processes.check_alive()
            with contextlib.suppress(OSError), \
                    socket.create_connection(("127.0.0.1", port), 1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(64).startswith(b"+PONG"):
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not answer PING")
            time.sleep(0.1)
        yield Redis(port)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class AirflowSite:
    home: Path
    env: dict[str, str] = field(repr=False)  # holds the generated secrets
    api_url: str = ""
    username: str = ""
    password: str = field(default="", repr=False)


def airflow_site(home: Path, db: Database, paths: dict[str, str],
                 celery: Redis | None = None) -> AirflowSite:
    """The environment of a project-like Airflow on PostgreSQL: the project's own settings
    (govpulse.orchestration.airflow_home.DEFAULTS, the compose file's executor and auth
    manager), fresh secrets and free ports. `paths` (GOVPULSE_INBOX, …) keep every run inside
    the test's folders."""
    home.mkdir(parents=True, exist_ok=True)
    api_port = free_port()
    username, password = "rater", secrets.token_urlsafe(18)
    passwords = home / "simple_auth_manager_passwords.json"
    passwords.write_text(json.dumps({username: password}) + "\n", encoding="utf-8")
    passwords.chmod(0o600)
    # not the session's Airflow (conftest's AIRFLOW_HOME) nor its GOVPULSE_* paths
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("AIRFLOW", "GOVPULSE_"))
                 or k in ("GOVPULSE_PSEUDONYM_KEY", "GOVPULSE_CACHE_DIR")}
    env = {
        **inherited,
        **airflow_home.DEFAULTS,  # dags folder, no examples, telemetry off
        **paths,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        # 64 bytes: PyJWT warns below that for the HS512 the tokens are signed with
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple."
                                       "simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{username}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # the log servers of the scheduler's workers and of the triggerer: free ports, so two
        # Airflows on one machine do not collide on 8793/8794
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        # The scheduler would create the latest complete week's run as soon as the DAG is
        # unpaused (catchup=False), doubling the test's work; manual runs still run. The
        # dag-processor still computes the next data interval, which the test checks.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    }
    if celery is not None:
        env.update(celery_env(db, celery))
    return AirflowSite(home, env, f"http://127.0.0.1:{api_port}", username, password)


def celery_env(db: Database, broker: Redis) -> dict[str, str]:
    """The CeleryExecutor's settings (../shared/research/scaleout.md, docs/scale-out.md):
    Redis as the broker, the metadata PostgreSQL as the result backend. Workers run tasks
    through the api-server's Execution API (EXECUTION_API_SERVER_URL and the shared JWT
    secret, set by airflow_site); a cold api-server can take half a minute to answer the
    first task, hence the longer timeout."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker.broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": (f"db+postgresql://{db.user}:{db.password}"
                                            f"@127.0.0.1:{db.port}/{db.name}"),
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "120",
    }


def start_celery_workers(site: AirflowSite, processes: Processes, count: int = 2,
                         concurrency: int = 1) -> list[str]:
    """`airflow celery worker` × count, each with its own hostname (`worker<n>@<host>`) and
    log-server port; returns the process names (worker1, worker2, …)."""
    airflow = str(VENV_BIN / "airflow")
    names = []
    for n in range(1, count + 1):
        name = f"worker{n}"
        env = {**site.env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
               WORKER_ENV: name,
               "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname"}
        processes.start(name, [airflow, "celery", "worker", "-H", f"{name}@%h",
                               "--concurrency", str(concurrency), "--skip-serve-logs"], env)
        names.append(name)
    return names


def airflow_cli(site: AirflowSite, *args: str, timeout: float = 300) -> str:
    done = subprocess.run([str(VENV_BIN / "airflow"), *args], env=site.env, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed ({done.returncode}):\n"
                           f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def start_airflow(site: AirflowSite, processes: Processes,
                  pools: list[tuple[str, str, str]] | None = None) -> None:
    """Migrate the metadata database, start the four services, create the warehouse pools
    (`pools`, default the one-territory `duckdb_warehouse`; while they boot: nothing is
    scheduled before the test triggers a run)."""
    airflow_cli(site, "db", "migrate")
    airflow = str(VENV_BIN / "airflow")
    port = site.env["AIRFLOW__API__PORT"]
    processes.start("api-server", [airflow, "api-server", "--host", "127.0.0.1", "--port", port,
                                   "--workers", "1"], site.env)
    for command in AIRFLOW_COMMANDS[1:]:
        processes.start(command, [airflow, command], site.env)
    for pool in pools or [airflow_home.POOL]:
        airflow_cli(site, "pools", "set", *pool)


class Api:
    """The REST API of the api-server, authenticated with a JWT from POST /auth/token."""

    def __init__(self, site: AirflowSite, processes: Processes) -> None:
        self.site, self.processes = site, processes
        self.http = requests.Session()

    def wait_until_up(self, timeout: float = 180) -> None:
        self.wait_for("the api-server", self._healthy, timeout)

    def _healthy(self) -> bool:
        try:
            return self.http.get(f"{self.site.api_url}/api/v2/monitor/health",
                                 timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    def login(self) -> None:
        response = self.http.post(f"{self.site.api_url}/auth/token", timeout=30, json={
            "username": self.site.username, "password": self.site.password})
        assert response.status_code in (200, 201), response.text
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.site.api_url}/api/v2{path}", timeout=30,
                                     **kwargs)
        assert response.ok, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)

    def wait_for(self, what: str, ready: Any, timeout: float, every: float = 1.0) -> Any:
        """Poll `ready()` until it returns something truthy; fail when a service dies."""
        deadline = time.monotonic() + timeout
        while True:
            self.processes.check_alive()
            value = ready()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")
            time.sleep(every)
