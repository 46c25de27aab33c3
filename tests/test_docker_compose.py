"""Static checks of the Docker deployment (docker-compose.yml, .env.example, Dockerfile).

There is no Docker engine where these run: the compose file is rendered with
`docker-compose config` (Debian package `docker-compose`, no daemon needed) and read with PyYAML.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
SCALE_OUT = ROOT / "docker-compose.scale-out.yml"  # CeleryExecutor override (docs/scale-out.md)
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
}
LONG_RUNNING = AIRFLOW_SERVICES - {"airflow-init"}
EXPECTED_SERVICES = AIRFLOW_SERVICES | {"postgres"}
# Secrets that must come from .env, with no default anywhere.
REQUIRED_SECRETS = (
    "POSTGRES_PASSWORD",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "GOVPULSE_PSEUDONYM_KEY",
    "AIRFLOW_ADMIN_PASSWORD",
)
SHARED_SECRETS = (
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
)
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|PSEUDONYM_KEY|PRIVATE_KEY")
# ${VAR}, ${VAR:?msg}, ${VAR:-default}, $VAR -- but not the $$ escape
VAR_REF = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")
INSTALL_HINT = "apt-get update && apt-get install -y docker-compose"


# ---------------------------------------------------------------- helpers


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _compose_cmd() -> list[str]:
    exe = shutil.which("docker-compose")
    if exe:
        return [exe]
    docker = shutil.which("docker")
    if docker:  # Compose v2 plugin, when a developer has it instead of the Debian package
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    message = f"docker-compose binary not found; install it with: {INSTALL_HINT}"
    if _ci():
        pytest.fail(message)
    pytest.skip(message)


def _parse_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {raw!r}"
        values[key.strip()] = value.strip()
    return values


def _filled_env() -> dict[str, str]:
    """.env.example with every empty value filled by a distinct test value."""
    values = _parse_env_file(ENV_EXAMPLE)
    return {k: v if v else f"test-{k.lower().replace('_', '-')}-value" for k, v in values.items()}


def _write_env(path: Path, values: dict[str, str]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")


def _run_config(cmd: list[str], workdir: Path) -> subprocess.CompletedProcess[str]:
    """`config` on a copy of docker-compose.yml in workdir (where its .env is looked up).

    The process environment is stripped so that nothing but workdir/.env can fill a variable.
    """
    shutil.copy(COMPOSE, workdir / "docker-compose.yml")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)}
    return subprocess.run(
        [*cmd, "-f", str(workdir / "docker-compose.yml"), "config"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE list form
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _mounts(service: dict) -> dict[str, bool]:
    """target -> read_only, for short ("src:dst:ro") and long ({target, read_only}) syntax."""
    out: dict[str, bool] = {}
    for vol in service.get("volumes") or []:
        if isinstance(vol, str):
            parts = vol.split(":")
            target = parts[1] if len(parts) > 1 else parts[0]
            mode = parts[2] if len(parts) > 2 else "rw"
            out[target] = "ro" in mode.split(",")
        else:
            out[vol["target"]] = bool(vol.get("read_only", False))
    return out


def _ports(service: dict) -> list[tuple[str, str, str]]:
    """(host_ip, published, target) for short and long port syntax."""
    out = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            out.append(
                (str(port.get("host_ip", "")), str(port.get("published", "")), str(port["target"]))
            )
            continue
        spec = str(port).split("/")[0]
        parts = spec.rsplit(":", 2)
        if len(parts) == 3:
            out.append((parts[0], parts[1], parts[2]))
        elif len(parts) == 2:
            out.append(("", parts[0], parts[1]))
        else:
            out.append(("", "", parts[0]))
    return out


def _depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _command_text(service: dict) -> str:
    command = service.get("command") or ""
    return command if isinstance(command, str) else "\n".join(map(str, command))


@pytest.fixture(scope="module")
def compose_source() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def docker_compose() -> list[str]:
    """The docker-compose command (tier `system`)."""
    return _compose_cmd()


@pytest.fixture(scope="module")
def rendered(docker_compose, tmp_path_factory) -> tuple[dict, dict[str, str]]:
    workdir = tmp_path_factory.mktemp("compose")
    env = _filled_env()
    _write_env(workdir / ".env", env)
    result = _run_config(docker_compose, workdir)
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout), env


# ---------------------------------------------------------------- (a) rendered config


def test_config_renders_expected_services(rendered):
    config, _ = rendered
    assert set(config["services"]) == EXPECTED_SERVICES


def test_local_executor_and_postgres_metadata_db(rendered):
    config, env = rendered
    expected_conn = (
        f"postgresql+psycopg2://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{env['POSTGRES_DB']}"
    )
    for name in AIRFLOW_SERVICES:
        service_env = _environment(config["services"][name])
        assert service_env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        assert service_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == expected_conn, name
        assert (
            service_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
            == "http://airflow-apiserver:8080/execution/"
        ), name
        assert service_env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false", name
        assert service_env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/govpulse/dags", name

    postgres = config["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    pg_env = _environment(postgres)
    assert pg_env["POSTGRES_PASSWORD"] == env["POSTGRES_PASSWORD"]
    assert pg_env["POSTGRES_USER"] == env["POSTGRES_USER"]
    assert pg_env["POSTGRES_DB"] == env["POSTGRES_DB"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "/var/lib/postgresql/data" in _mounts(postgres)


def test_secrets_are_shared_by_every_airflow_service(rendered):
    """One JWT signing key (and Fernet/api key) everywhere: apache/airflow#49646."""
    config, env = rendered
    for key in SHARED_SECRETS:
        values = {
            name: _environment(config["services"][name]).get(key) for name in AIRFLOW_SERVICES
        }
        assert set(values.values()) == {env[key]}, f"{key} differs between services: {values}"
    for name in AIRFLOW_SERVICES:
        service_env = _environment(config["services"][name])
        assert service_env["GOVPULSE_PSEUDONYM_KEY"] == env["GOVPULSE_PSEUDONYM_KEY"], name


def test_api_stays_authenticated(rendered):
    config, env = rendered
    for name in AIRFLOW_SERVICES:
        service_env = _environment(config["services"][name])
        assert service_env["AIRFLOW__CORE__AUTH_MANAGER"].endswith(".SimpleAuthManager"), name
        all_admins = service_env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
        assert all_admins.lower() in ("false", "0"), name
        assert (
            service_env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"]
            == f"{env['AIRFLOW_ADMIN_USERNAME']}:admin"
        ), name
        assert service_env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith(
            "/opt/airflow/auth/"
        ), name
    init = config["services"]["airflow-init"]
    assert _environment(init)["AIRFLOW_ADMIN_PASSWORD"] == env["AIRFLOW_ADMIN_PASSWORD"]
    assert "/opt/airflow/auth" in _mounts(init)
    assert "/opt/airflow/auth" in _mounts(config["services"]["airflow-apiserver"])


def test_data_volumes_mounted_where_tasks_run_and_dags_parse(rendered):
    config, _ = rendered
    expected = {
        "/data/warehouse": False,
        # the fetch tasks write their captures under <inbox>/api (ingestion.connectors.native)
        "/data/inbox": False,
        "/data/registry": True,
        "/data/publish": False,
        "/opt/airflow/logs": False,
    }
    for name in ("airflow-scheduler", "airflow-dag-processor"):
        mounts = _mounts(config["services"][name])
        for target, read_only in expected.items():
            assert target in mounts, f"{name} lacks a mount at {target}"
            assert mounts[target] is read_only, f"{name}: {target} read_only should be {read_only}"
        service_env = _environment(config["services"][name])
        assert service_env["GOVPULSE_INBOX"] == "/data/inbox"
        assert service_env["GOVPULSE_REGISTRY"].startswith("/data/registry")
        assert service_env["GOVPULSE_WAREHOUSE"].startswith("/data/warehouse/")
        assert service_env["GOVPULSE_PUBLISH_DIR"] == "/data/publish"
    volumes = config.get("volumes") or {}
    assert {"warehouse", "postgres-db"} <= set(volumes)


def test_startup_order_and_init_job(rendered):
    config, _ = rendered
    for name in LONG_RUNNING:
        deps = _depends_on(config["services"][name])
        assert deps.get("airflow-init") == "service_completed_successfully", name
        assert deps.get("postgres") == "service_healthy", name
    init = config["services"]["airflow-init"]
    assert _depends_on(init) == {"postgres": "service_healthy"}
    command = _command_text(init)
    assert "airflow db migrate" in command
    assert 'airflow pools set duckdb_warehouse 1 "one DuckDB writer"' in command
    apiserver = config["services"]["airflow-apiserver"]
    assert _command_text(apiserver).split() == ["airflow", "api-server"]
    health = " ".join(apiserver["healthcheck"]["test"])
    assert "/api/v2/monitor/health" in health


def test_telemetry_off_everywhere(rendered):
    config, _ = rendered
    for name in AIRFLOW_SERVICES:
        service_env = _environment(config["services"][name])
        assert service_env["DO_NOT_TRACK"] == "1", name
        assert service_env["SCARF_ANALYTICS"].lower() == "false", name
        assert service_env["AIRFLOW__COSMOS__ENABLE_TELEMETRY"].lower() == "false", name


def test_rendered_api_port_is_loopback_only(rendered):
    config, _ = rendered
    for name, service in config["services"].items():
        for host_ip, _published, _target in _ports(service):
            assert host_ip == "127.0.0.1", f"{name} publishes a port beyond loopback"
    assert ("127.0.0.1", "8080", "8080") in _ports(config["services"]["airflow-apiserver"])


# ---------------------------------------------------------------- (b) no defaults for secrets


def test_config_fails_without_env_file(docker_compose, tmp_path):
    result = _run_config(docker_compose, tmp_path)
    assert result.returncode != 0


def test_config_fails_with_unfilled_env_example(docker_compose, tmp_path):
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    result = _run_config(docker_compose, tmp_path)
    assert result.returncode != 0
    assert "in .env" in result.stderr + result.stdout


@pytest.mark.parametrize("secret", REQUIRED_SECRETS)
def test_each_secret_is_mandatory(docker_compose, tmp_path, secret):
    env = _filled_env()
    env[secret] = ""
    _write_env(tmp_path / ".env", env)
    result = _run_config(docker_compose, tmp_path)
    assert result.returncode != 0, f"config succeeded without {secret}"
    assert secret in result.stderr + result.stdout


# ---------------------------------------------------------------- (c) pure-Python checks


def _walk_env_blocks(source: dict):
    blocks = [("x-airflow-common", source["x-airflow-common"])]
    blocks += list(source["services"].items())
    for name, service in blocks:
        yield name, _environment(service)


def test_compose_has_no_version_key_and_builds_project(compose_source):
    assert "version" not in compose_source
    common = compose_source["x-airflow-common"]
    assert common["build"] == "."
    assert common["env_file"] == ".env"
    for name in AIRFLOW_SERVICES:
        assert compose_source["services"][name]["build"] == ".", name


def test_no_literal_secrets_in_compose(compose_source):
    text = COMPOSE.read_text(encoding="utf-8")
    # no ${SECRET:-default} / ${SECRET-default} anywhere
    for match in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-)", text):
        assert not SECRET_NAME.search(match.group(1)), f"default for secret {match.group(1)}"
    for name, env in _walk_env_blocks(compose_source):
        for key, value in env.items():
            if not SECRET_NAME.search(key) or key.endswith("_FILE"):
                continue
            assert re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}", value), (
                f"{name}: {key} must be a mandatory ${{VAR:?...}} reference, got {value!r}"
            )
        conn = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        if conn is not None:
            assert re.search(r":\$\{POSTGRES_PASSWORD:\?[^}]*\}@postgres", conn), conn
    for secret in REQUIRED_SECRETS:
        assert re.search(rf"\$\{{{secret}:\?", text), f"{secret} is not required by compose"


def test_api_server_port_binds_loopback(compose_source):
    for name, service in compose_source["services"].items():
        for port in service.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"
    assert compose_source["services"]["airflow-apiserver"]["ports"] == ["127.0.0.1:8080:8080"]


def test_env_example_lists_every_compose_variable():
    text = COMPOSE.read_text(encoding="utf-8") + SCALE_OUT.read_text(encoding="utf-8")
    used = {a or b for a, b in VAR_REF.findall(text)}
    listed = set(_parse_env_file(ENV_EXAMPLE))
    assert used, "no ${VAR} found in docker-compose.yml"
    assert used <= listed, f".env.example misses {sorted(used - listed)}"
    assert set(REQUIRED_SECRETS) <= listed


def test_env_example_commits_no_secret_values():
    for key, value in _parse_env_file(ENV_EXAMPLE).items():
        if SECRET_NAME.search(key):
            assert value in ("", "change-me"), f".env.example carries a value for {key}"


def test_env_file_is_ignored_by_git_and_docker():
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in gitignore
    dockerignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in dockerignore
    assert ".venv/" in dockerignore or ".venv" in dockerignore


def test_dockerfile_shape():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim-bookworm$", text, re.M)
    assert re.search(r"pip install [^\n]*\buv\b", text)
    deps = text.index("uv sync --frozen --no-dev --no-install-project")
    copy_all = text.index("COPY . .")
    assert deps < copy_all < text.index("uv sync --frozen --no-dev\n")
    assert re.search(r"useradd[^\n]*--uid 50000[^\n]*airflow", text)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0"), "image must end as a non-root user"
    assert "AIRFLOW_HOME=/opt/airflow" in text
    assert "/.venv/bin:$PATH" in text
    telemetry_off = (
        "DO_NOT_TRACK=1",
        "SCARF_ANALYTICS=false",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY=False",
    )
    for setting in telemetry_off:
        assert setting in text


# ---------------------------------------------------------------- scale-out override

SCALE_OUT_ADDED = {"redis", "minio", "minio-init", "airflow-worker-1", "airflow-worker-2"}
WORKERS = ("airflow-worker-1", "airflow-worker-2")


def _run_scale_out_config(cmd: list[str], workdir: Path) -> subprocess.CompletedProcess[str]:
    """`config` of docker-compose.yml with docker-compose.scale-out.yml over it."""
    shutil.copy(COMPOSE, workdir / "docker-compose.yml")
    shutil.copy(SCALE_OUT, workdir / "docker-compose.scale-out.yml")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)}
    return subprocess.run(
        [*cmd, "-f", str(workdir / "docker-compose.yml"),
         "-f", str(workdir / "docker-compose.scale-out.yml"), "config"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def scale_out(docker_compose, tmp_path_factory) -> tuple[dict, dict[str, str]]:
    workdir = tmp_path_factory.mktemp("compose-scale-out")
    # the defaults the override gives: every territory of ./registry, a file warehouse each
    env = {**_filled_env(), "GOVPULSE_TERRITORIES": "", "GOVPULSE_WAREHOUSE": "",
           "GOVPULSE_LAKE_DATA_PATH": ""}
    _write_env(workdir / ".env", env)
    result = _run_scale_out_config(docker_compose, workdir)
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout), env


def test_scale_out_adds_redis_s3_and_two_workers(scale_out):
    config, _ = scale_out
    assert set(config["services"]) == EXPECTED_SERVICES | SCALE_OUT_ADDED
    assert "minio-data" in config["volumes"]


def test_scale_out_runs_every_airflow_service_on_celery_with_redis(scale_out):
    config, env = scale_out
    backend = (f"db+postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}"
               f"@postgres:5432/{env['POSTGRES_DB']}")
    for name in (*AIRFLOW_SERVICES, *WORKERS):
        service_env = _environment(config["services"][name])
        assert service_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert service_env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0", name
        assert service_env["AIRFLOW__CELERY__RESULT_BACKEND"] == backend, name
        # workers need the api-server (Task Execution API), one JWT key, patience for a cold
        # api-server (../shared/research/scaleout.md)
        assert (service_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
                == "http://airflow-apiserver:8080/execution/"), name
        assert int(service_env["AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"]) >= 60, name
        for key in SHARED_SECRETS:
            assert service_env[key] == env[key], (name, key)
        assert service_env["GOVPULSE_TERRITORIES"] == "/data/registry", name
        assert service_env["GOVPULSE_WAREHOUSE"] == "/data/warehouse/warehouse.duckdb", name
        assert service_env["GOVPULSE_S3_ENDPOINT"] == "http://minio:9000", name
    redis = config["services"]["redis"]
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])
    assert _command_text(redis).split()[:1] == ["redis-server"]
    assert "--appendonly\nno" in _command_text(redis)  # a broker: nothing persisted
    for name in ("airflow-scheduler", *WORKERS):
        assert _depends_on(config["services"][name])["redis"] == "service_healthy", name


def test_scale_out_workers_share_the_schedulers_image_env_and_data(scale_out):
    config, _ = scale_out
    scheduler = config["services"]["airflow-scheduler"]
    hostnames = set()
    for name in WORKERS:
        worker = config["services"][name]
        assert worker["image"] == scheduler["image"] == "govpulse-airflow:local", name
        assert _environment(worker) == _environment(scheduler), name
        assert _mounts(worker) == _mounts(scheduler), name
        assert {v.split(":")[0] for v in worker["volumes"] if v.startswith("warehouse:")} == {
            "warehouse"}, name
        command = _command_text(worker).split()
        assert command[:3] == ["airflow", "celery", "worker"], name
        hostnames.add(command[command.index("-H") + 1])
        assert command[command.index("--concurrency") + 1] == "1", name
        deps = _depends_on(worker)
        assert deps["airflow-apiserver"] == "service_healthy", name
        assert deps["airflow-init"] == "service_completed_successfully", name
        assert "inspect ping" in " ".join(worker["healthcheck"]["test"]), name
    assert hostnames == {"worker1@%h", "worker2@%h"}


def test_scale_out_images_are_pinned_and_ports_loopback(scale_out):
    config, _ = scale_out
    for name, service in config["services"].items():
        image = service.get("image", "")
        if name in AIRFLOW_SERVICES or name in WORKERS:
            assert image == "govpulse-airflow:local", name
            continue
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest", f"{name}: image {image!r} is not pinned"
        for host_ip, _published, _target in _ports(service):
            assert host_ip == "127.0.0.1", name
    assert config["services"]["redis"]["image"].startswith("redis:7")
    assert _depends_on(config["services"]["minio-init"]) == {"minio": "service_healthy"}
    assert "mc mb --ignore-existing" in _command_text(config["services"]["minio-init"])


def test_scale_out_init_creates_every_territorys_pool(scale_out):
    command = _command_text(scale_out[0]["services"]["airflow-init"])
    assert "python -m govpulse.orchestration.airflow_home > /tmp/govpulse-pools.json" in command
    assert "airflow pools import /tmp/govpulse-pools.json" in command


def test_scale_out_needs_the_s3_secret(docker_compose, tmp_path):
    env = _filled_env()
    env["AWS_SECRET_ACCESS_KEY"] = ""
    _write_env(tmp_path / ".env", env)
    result = _run_scale_out_config(docker_compose, tmp_path)
    assert result.returncode != 0
    assert "set AWS_SECRET_ACCESS_KEY in .env" in result.stderr
