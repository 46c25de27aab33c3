"""Where things are: paths from explicit options, then environment variables, then defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
DAGS_DIR = PROJECT_DIR / "dags"
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
DEFAULT_REGISTRY = PROJECT_DIR / "registry" / "kz"
STATE_DIR = PROJECT_DIR / "var"

PSEUDONYM_KEY_ENV = "GOVPULSE_PSEUDONYM_KEY"


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


def parse_week(value: str | date) -> date:
    """A reporting week is named by its first day, a Friday (METHODOLOGY §0)."""
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    if day.weekday() != 4:
        friday = day - timedelta(days=(day.weekday() - 4) % 7)
        raise ValueError(
            f"{day} is a {day:%A}: a reporting week starts on a Friday "
            f"(the week containing {day} starts on {friday})"
        )
    return day


def ensure_pseudonym_key(warehouse: Path) -> None:
    """Put the key for pseudonymising author ids into the environment.

    From GOVPULSE_PSEUDONYM_KEY when set; otherwise a random key kept next to the warehouse, so
    pseudonyms stay stable between runs on this machine and the key never enters the repo.
    """
    if os.environ.get(PSEUDONYM_KEY_ENV):
        return
    key_file = warehouse.parent / ".pseudonym_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32), encoding="utf-8")
        key_file.chmod(0o600)
    os.environ[PSEUDONYM_KEY_ENV] = key_file.read_text(encoding="utf-8").strip()
