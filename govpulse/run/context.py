"""The run context: what `start` registered and every later step of the run receives.

Airflow passes it between tasks as XCom, which holds JSON: `to_xcom()` writes it, `of()` reads
it back (and passes a context through), so a step never indexes an untyped dict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from govpulse.periods import period_end_of
from govpulse.settings import Paths


@dataclass(frozen=True)
class RunContext:
    run_id: str
    kind: str  # weekly | monthly | annual (govpulse.periods.KINDS)
    period_start: date
    paths: Paths
    published_at: str = ""  # ISO instant the run started: its revisions' published_at
    docs: bool = True  # build dbt docs and Data Docs at publication

    @property
    def period_end(self) -> date:
        """The period's exclusive end."""
        return period_end_of(self.kind, self.period_start)

    def to_xcom(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "kind": self.kind,
                "period_start": self.period_start.isoformat(),
                "period_end": self.period_end.isoformat(), "published_at": self.published_at,
                "paths": self.paths.as_strings(), "docs": self.docs}

    @classmethod
    def of(cls, value: RunContext | dict[str, Any]) -> RunContext:
        """The context itself, or the one an XCom (`to_xcom()`) holds."""
        if isinstance(value, RunContext):
            return value
        start = value["period_start"]
        return cls(
            run_id=value["run_id"], kind=value["kind"],
            period_start=start if isinstance(start, date) else date.fromisoformat(start),
            paths=Paths(**{k: Path(v) for k, v in value["paths"].items()}),
            published_at=value.get("published_at", ""), docs=value.get("docs", True),
        )
