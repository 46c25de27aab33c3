"""Where things are: paths from explicit options, then environment variables, then defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
DAGS_DIR = PROJECT_DIR / "dags"
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
DEFAULT_REGISTRY = PROJECT_DIR / "registry" / "kz"
STATE_DIR = PROJECT_DIR / "var"

PSEUDONYM_KEY_ENV = "GOVPULSE_PSEUDONYM_KEY"
# Tests only: an ISO instant the closing rule takes as "now" (a DAG test of a week whose
# captures are taken now, rated as if the week had closed). Nothing in production sets it.
NOW_ENV = "GOVPULSE_NOW"


# A warehouse target that is a DuckLake catalog (govpulse.warehouse.lake), not a file.
DUCKLAKE_SCHEME = "ducklake:"


@dataclass(frozen=True)
class Paths:
    inbox: Path
    registry: Path
    warehouse: Path
    publish_dir: Path

    @classmethod
    def resolve(
        cls,
        inbox: str | Path | None = None,
        registry: str | Path | None = None,
        warehouse: str | Path | None = None,
        publish_dir: str | Path | None = None,
    ) -> Paths:
        def pick(value: str | Path | None, env: str, default: Path) -> Path:
            chosen = value or os.environ.get(env) or default
            if str(chosen).startswith(DUCKLAKE_SCHEME):  # not a file: refused, never made one
                raise ValueError(
                    f"{env}/--warehouse names a DuckLake ({DUCKLAKE_SCHEME}…): runs on the lake "
                    "backend are not available yet (docs/scale-out.md, issue 17); give a "
                    "DuckDB file such as var/warehouse.duckdb")
            return Path(chosen).expanduser().resolve()

        return cls(
            inbox=pick(inbox, "GOVPULSE_INBOX", STATE_DIR / "inbox"),
            registry=pick(registry, "GOVPULSE_REGISTRY", DEFAULT_REGISTRY),
            warehouse=pick(warehouse, "GOVPULSE_WAREHOUSE", STATE_DIR / "warehouse.duckdb"),
            publish_dir=pick(publish_dir, "GOVPULSE_PUBLISH_DIR", STATE_DIR / "publish"),
        )

    def as_strings(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    @property
    def published_file(self) -> Path:
        return self.publish_dir / "warehouse.duckdb"

    @property
    def docs_dir(self) -> Path:
        """dbt docs and Great Expectations Data Docs of the published data."""
        return self.publish_dir / "docs"

    @property
    def bulletin_dir(self) -> Path:
        """Weekly bulletins, one folder per week (govpulse.publish.bulletin)."""
        return self.publish_dir / "bulletin"


# ------------------------------------------------------------------------------------------
# The environment. Every variable govpulse reads is read here, at call time (operators and
# tests change them between runs); docs/operations.md lists them for operators.
# ------------------------------------------------------------------------------------------
MEMORY_LIMIT_ENV = "GOVPULSE_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "2GB"
MIN_PAGE_COMPLETENESS_ENV = "GOVPULSE_MIN_PAGE_COMPLETENESS"
DEFAULT_MIN_PAGE_COMPLETENESS = 0.9
WEBHOOK_ENV = "GOVPULSE_ALERT_WEBHOOK_URL"
CACHE_DIR_ENV = "GOVPULSE_CACHE_DIR"
AIRFLOW_HOME_ENV = "AIRFLOW_HOME"


def env(name: str) -> str:
    """A variable's value, stripped; "" when unset."""
    return (os.environ.get(name) or "").strip()


def memory_limit() -> str:
    """DuckDB's memory limit for every connection and dbt (GOVPULSE_DUCKDB_MEMORY_LIMIT)."""
    return env(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT


def min_page_completeness() -> float:
    """Share of a platform's reachable pages a weekly fetch must get (METHODOLOGY: coverage)."""
    value = env(MIN_PAGE_COMPLETENESS_ENV)
    try:
        return float(value) if value else DEFAULT_MIN_PAGE_COMPLETENESS
    except ValueError:
        raise ValueError(f"{MIN_PAGE_COMPLETENESS_ENV}={value!r} is not a number such as "
                         "0.9") from None


def seconds(name: str, default: float) -> float:
    """A duration in seconds from the environment, with a message naming the variable."""
    value = env(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number of seconds") from None


def webhook_url() -> str:
    """Where alerts are POSTed; "" when alerts stay in ops.alerts only."""
    return env(WEBHOOK_ENV)


def cache_dir() -> Path:
    """Caches kept between runs (the dbt docs' inputs): GOVPULSE_CACHE_DIR or ~/.cache."""
    return Path(env(CACHE_DIR_ENV) or Path.home() / ".cache" / "govpulse")


def airflow_home() -> Path:
    """The Airflow home: AIRFLOW_HOME, else the project's own .airflow folder."""
    return Path(env(AIRFLOW_HOME_ENV) or PROJECT_DIR / ".airflow")


# The DuckLake backend (govpulse.warehouse.lake, docs/scale-out.md). GOVPULSE_WAREHOUSE may name a
# lake, `ducklake:postgres:<libpq conninfo>`; its Parquet files go under GOVPULSE_LAKE_DATA_PATH
# (a folder every worker reaches, or s3://bucket/prefix with AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_REGION and, for a store other than AWS, GOVPULSE_S3_ENDPOINT such as
# http://minio:9000). The DuckDB extensions (ducklake, postgres, httpfs) are installed from their
# PyPI wheels into GOVPULSE_DUCKDB_EXTENSION_DIR (default <cache dir>/duckdb-extensions).
LAKE_DATA_PATH_ENV = "GOVPULSE_LAKE_DATA_PATH"
S3_ENDPOINT_ENV = "GOVPULSE_S3_ENDPOINT"
EXTENSION_DIR_ENV = "GOVPULSE_DUCKDB_EXTENSION_DIR"
AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_SESSION_TOKEN")


def lake_data_path() -> str:
    """Where the lake's Parquet files go (GOVPULSE_LAKE_DATA_PATH); "" when unset."""
    return env(LAKE_DATA_PATH_ENV)


def s3_endpoint() -> str:
    """An S3-compatible endpoint URL (GOVPULSE_S3_ENDPOINT); "" for AWS itself."""
    return env(S3_ENDPOINT_ENV)


def aws_env() -> dict[str, str]:
    """The AWS variables that are set (AWS_REGION falls back to AWS_DEFAULT_REGION)."""
    found = {name: env(name) for name in AWS_ENV if env(name)}
    if "AWS_REGION" not in found and env("AWS_DEFAULT_REGION"):
        found["AWS_REGION"] = env("AWS_DEFAULT_REGION")
    return found


def duckdb_extension_dir() -> Path:
    """DuckDB's extension directory for every connection and dbt (GOVPULSE_DUCKDB_EXTENSION_DIR,
    else <cache dir>/duckdb-extensions): per user, so it works without root."""
    return Path(env(EXTENSION_DIR_ENV) or cache_dir() / "duckdb-extensions")


def platform_env(platform: str, key: str) -> str:
    """GOVPULSE_<PLATFORM>_<KEY> (TOKEN, API_URL, MAX_REQUESTS, ...); "" when unset."""
    return env(f"GOVPULSE_{platform.upper()}_{key}")


def forced_now() -> datetime | None:
    """The instant GOVPULSE_NOW names (tests only), else None."""
    forced = env(NOW_ENV)
    if not forced:
        return None
    moment = datetime.fromisoformat(forced)
    if moment.tzinfo is None:
        raise ValueError(f"{NOW_ENV}={forced!r} has no UTC offset: write e.g. "
                         "2026-12-18T00:01+05:00")
    return moment


def ensure_pseudonym_key(warehouse: Path) -> None:
    """Put the key for pseudonymising author ids into the environment.

    From GOVPULSE_PSEUDONYM_KEY when set; otherwise a random key kept next to the warehouse, so
    pseudonyms stay stable between runs on this machine and the key never enters the repo.
    """
    if env(PSEUDONYM_KEY_ENV):
        return
    key_file = warehouse.parent / ".pseudonym_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32), encoding="utf-8")
        key_file.chmod(0o600)
    os.environ[PSEUDONYM_KEY_ENV] = key_file.read_text(encoding="utf-8").strip()
