"""Test session setup: a throw-away Airflow home with SQLite metadata, telemetry off; the
fixtures several test files share; and the test tiers (tests/README.md).

Airflow reads its configuration when first imported, so the environment is set here, before any
test module imports it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="govpulse-airflow-")
os.environ["GOVPULSE_PSEUDONYM_KEY"] = "test-pseudonym-key"
os.environ["GOVPULSE_CACHE_DIR"] = tempfile.mkdtemp(prefix="govpulse-cache-")  # per session
for variable in ("GOVPULSE_INBOX", "GOVPULSE_REGISTRY", "GOVPULSE_WAREHOUSE",
                 "GOVPULSE_PUBLISH_DIR"):
    os.environ.pop(variable, None)

from govpulse.orchestration import airflow_home  # noqa: E402
from tests import support  # noqa: E402

airflow_home.configure()
T = TypeVar("T")


# ---- fixtures that decide a test's tier ---------------------------------------------------

@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An initialised metadata database (airflow db migrate, once per session): tier `dag`."""
    airflow_home.ensure_initialized()
    return airflow_home.airflow_home()


@pytest.fixture(scope="session")
def dbt() -> Callable[..., support.DbtResult]:
    """The real dbt CLI on the project (support.run_dbt): tier `dbt`."""
    return support.run_dbt


@pytest.fixture(scope="session")
def postgres_bin() -> Path:
    """PostgreSQL's server binaries, for Airflow's own services: tier `system`. Skips when
    there are none (`.ci/run` installs Debian's postgresql)."""
    from tests import airflow_services

    found = airflow_services.postgres_bin_dir()
    if found is None:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql; .ci/run "
                    "installs it)")
    return found


# ---- fixtures shared by several files ----------------------------------------------------

@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A path for a fresh DuckDB warehouse (not created yet). Files that need a prepared
    warehouse define their own `warehouse`."""
    return tmp_path / "w.duckdb"


@pytest.fixture
def api_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str, str], None]:
    """Point a platform connector at a fixture server: api_env(PLATFORM, url, token) sets
    GOVPULSE_<PLATFORM>_API_URL and _TOKEN, and a short HTTP back-off."""
    def point(platform: str, url: str, token: str) -> None:
        monkeypatch.setenv(f"GOVPULSE_{platform.upper()}_API_URL", url)
        monkeypatch.setenv(f"GOVPULSE_{platform.upper()}_TOKEN", token)
        monkeypatch.setenv("GOVPULSE_HTTP_BACKOFF_SECONDS", "0.01")
    return point


@pytest.fixture
def serve_api(api_env: Callable[[str, str, str], None]
              ) -> Callable[..., contextlib.AbstractContextManager]:
    """serve_api(platform, fixture_server, token, prefix=""): a context manager serving the
    fixture server on 127.0.0.1 with the connector pointed at it (URL + prefix, token)."""
    from tests.platform_servers import serve

    @contextlib.contextmanager
    def serving(platform: str, server: T, token: str, prefix: str = "") -> Iterator[T]:
        with serve(server) as url:
            api_env(platform, url + prefix, token)
            yield server
    return serving


@pytest.fixture(scope="session")
def api_staged(dbt: Callable[..., support.DbtResult],
               tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Telegram, YouTube and X captures landed and their staging models built by one dbt run
    (tests/test_connector_telegram.py), shared by those three files' staging tests."""
    from tests.test_connector_telegram import build_api_staging

    return build_api_staging(dbt, tmp_path_factory.mktemp("api-staging"))


@pytest.fixture(scope="session")
def vk_ok_staged(dbt: Callable[..., support.DbtResult],
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    """VK and OK captures landed and their staging models built by one dbt run
    (tests/test_connector_vk.py): the rows of each model, shared by both files."""
    from tests.test_connector_vk import build_vk_ok_staging

    return build_vk_ok_staging(dbt, tmp_path_factory.mktemp("vk-ok-staging"))


# ---- tiers --------------------------------------------------------------------------------

TIERS = ("system", "dag", "dbt", "unit")  # heaviest first: a test gets the first that applies
TIER_FIXTURES = {"system": {"postgres_bin", "docker_compose"}, "dag": {"airflow_db"},
                 "dbt": {"dbt"}}
# modules whose tests reach a tier without one of the fixtures above (they call the tool
# directly); a new test should use the fixture instead
MODULE_TIERS = {"test_dbt_project.py": "dbt"}

# Roughly the seconds each of the slow files takes alone on 2 idle cores (from `--durations`;
# the ratios are what counts): with `--dist loadfile --no-loadscope-reorder` the workers take
# whole files in collection order, so the longest go first and the short unit files fill the
# gaps at the end. A file not listed counts by its tier (TIER_SECONDS).
FILE_SECONDS = {
    "test_crash_safety.py": 300, "test_weekly_dag.py": 180, "test_run_at_a_time.py": 160,
    "test_real_scheduler.py": 150, "test_withdraw.py": 130, "test_annual_ratings.py": 125,
    "test_monthly_incidents.py": 110, "test_publication.py": 100, "test_revisions.py": 100,
    "test_cli.py": 90, "test_backfill.py": 90, "test_bench.py": 80, "test_fetch_to_rating.py": 80,
    "test_registry_history.py": 80, "test_secrets.py": 70, "test_bench_peers.py": 60,
    "test_gone_pages_and_bad_records.py": 50, "test_landing_dag.py": 50, "test_deadline.py": 40,
    "test_dbt_project.py": 40, "test_validation.py": 40, "test_dag_integrity.py": 30,
    "test_docker_compose.py": 10, "test_territories_through_airflow.py": 180,
    "test_bulletin_monthly_run.py": 85, "test_deployment.py": 25, "test_lake.py": 60,
    "test_celery_territories.py": 280,
}
TIER_SECONDS = {"system": 60, "dag": 45, "dbt": 20, "unit": 1}


def tier_of(item: pytest.Item) -> str:
    explicit = [t for t in TIERS if item.get_closest_marker(t)]
    if explicit:
        return explicit[0]
    used = set(getattr(item, "fixturenames", ()))
    for tier in TIERS[:-1]:
        if used & TIER_FIXTURES[tier]:
            return tier
    return MODULE_TIERS.get(item.path.name, "unit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier (unit, dbt, dag, system) by the fixtures it uses, then put
    the slowest files first (see FILE_SECONDS)."""
    weight: dict[Path, float] = {}
    for item in items:
        tier = tier_of(item)
        if not item.get_closest_marker(tier):
            item.add_marker(getattr(pytest.mark, tier))
        seconds = FILE_SECONDS.get(item.path.name, TIER_SECONDS[tier])
        weight[item.path] = max(weight.get(item.path, 0), seconds)
    items.sort(key=lambda item: -weight[item.path])  # stable: a file's own order is kept
