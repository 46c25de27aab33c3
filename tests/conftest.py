"""Test session setup: a throw-away Airflow home with SQLite metadata, telemetry off.

Airflow reads its configuration when first imported, so the environment is set here, before any
test module imports it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="govpulse-airflow-")
os.environ["GOVPULSE_PSEUDONYM_KEY"] = "test-pseudonym-key"
os.environ["GOVPULSE_CACHE_DIR"] = tempfile.mkdtemp(prefix="govpulse-cache-")  # per session
for variable in ("GOVPULSE_INBOX", "GOVPULSE_REGISTRY", "GOVPULSE_WAREHOUSE",
                 "GOVPULSE_PUBLISH_DIR"):
    os.environ.pop(variable, None)

from govpulse.orchestration import airflow_home  # noqa: E402

airflow_home.configure()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An initialised metadata database (airflow db migrate, once per session)."""
    airflow_home.ensure_initialized()
    return airflow_home.airflow_home()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that run Airflow (a DAG through dag.test, or Airflow's own servers) are marked
    `dag`: `make test-fast` leaves them out for a quick inner loop."""
    for item in items:
        if "airflow_db" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.dag)
