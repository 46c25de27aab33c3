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

    @property
    def docs_dir(self) -> Path:
        """dbt docs and Great Expectations Data Docs of the published data."""
        return self.publish_dir / "docs"

    @property
    def bulletin_dir(self) -> Path:
        """Weekly bulletins, one folder per week (govpulse.bulletin)."""
        return self.publish_dir / "bulletin"


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


# Run kinds and the period each rates (METHODOLOGY §0: weeks, calendar months; §7: years).
KINDS = ("weekly", "monthly", "annual")


def parse_month(value: str | date) -> date:
    """A month as YYYY-MM (or any date in it): its first day."""
    if isinstance(value, date):
        return value.replace(day=1)
    text = str(value).strip()
    try:
        return date.fromisoformat(f"{text}-01" if len(text) == 7 else text).replace(day=1)
    except ValueError:
        raise ValueError(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2026-10") from None


def parse_year(value: str | int | date) -> date:
    """A year as YYYY (or any date in it): 1 January."""
    if isinstance(value, date):
        return value.replace(month=1, day=1)
    text = str(value).strip()
    if len(text) == 10:  # an ISO date, as a DAG run's period_start
        try:
            return date.fromisoformat(text).replace(month=1, day=1)
        except ValueError:
            pass
    if not (len(text) == 4 and text.isdigit()):
        raise ValueError(f"{text!r} is not a year: write it as YYYY, e.g. 2026")
    return date(int(text), 1, 1)


def period_start_of(kind: str, value: str | date) -> date:
    """The first day of the period a run of `kind` rates, checked."""
    parsers = {"weekly": parse_week, "monthly": parse_month, "annual": parse_year}
    if kind not in parsers:
        raise ValueError(f"unknown run kind {kind!r}: one of {', '.join(KINDS)}")
    start = parsers[kind](value)
    if kind != "weekly" and isinstance(value, date) and value != start:
        raise ValueError(f"a {kind} period starts on {start}, not {value}")
    return start


def period_end_of(kind: str, start: date) -> date:
    """The exclusive end of the period that starts on `start`."""
    if kind == "weekly":
        return start + timedelta(days=7)
    if kind == "monthly":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return date(start.year + 1, 1, 1)


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
