"""The rating catalogue: what each rating is (models, indicators, unit, grouping, period), declared
once in the `ratings` var of dbt_project.yml, which the dbt macros read too (macros/ratings.sql).

It sits outside the `methodology` var on purpose: the catalogue says what is rated, not how, so
declaring or reordering a rating does not change `methodology_version` (which would republish
history). Weights stay methodology parameters; a rating names its key of `methodology.weights`.
This module imports nothing from govpulse (bottom layer of .importlinter).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DBT_PROJECT_FILE = Path(__file__).resolve().parent.parent / "dbt_project" / "dbt_project.yml"

# run kind (ops.runs.kind, marts.withdrawals.kind) of each period kind, and back
RUN_KIND_OF_PERIOD = {"week": "weekly", "month": "monthly", "year": "annual"}
PERIOD_OF_RUN_KIND = {kind: period for period, kind in RUN_KIND_OF_PERIOD.items()}


@dataclass(frozen=True)
class Indicator:
    name: str
    better: str  # more | less
    label: str  # Russian column title of the report and the bulletin
    type: str = "double"  # whole | double: what the candidate check expects
    required: bool = False  # never NULL
    min: float | None = None
    max: float | None = None
    # ranked only in a group where some unit has a value (the annual expert score)
    optional: bool = False


@dataclass(frozen=True)
class Shown:
    """A column the report shows before the indicators (not ranked)."""

    name: str
    label: str


@dataclass(frozen=True)
class Rating:
    name: str  # rating_explanations.rating, the annual table's `rating`, suite `<name>_ranked`
    title: str  # Russian title of the report
    candidate: str  # the int_*_ranked model (schema intermediate)
    history: str  # the published history mart (schema marts); `<history>_current` its view
    period: str  # week | month | year
    indicators: tuple[Indicator, ...]
    weights: str  # key of methodology.weights
    group: str | None = None  # column whose groups are ranked separately
    unit: dict[str, str] | None = None  # expected units: rule (+ entity_level, page_kind, ...)
    shown: tuple[Shown, ...] = ()
    section: str = ""  # its section of METHODOLOGY.md, e.g. §1
    unit_label: str = ""  # the unit column's header in bulletins, e.g. Акимат

    @property
    def kind(self) -> str:
        """The run kind that rates it: weekly | monthly | annual."""
        return RUN_KIND_OF_PERIOD[self.period]

    @property
    def current(self) -> str:
        return f"{self.history}_current"

    @property
    def indicator_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.indicators)


def parse(catalogue: dict[str, Any]) -> dict[str, Rating]:
    """The `ratings` var (name -> declaration) as Rating objects, in declaration order."""
    out: dict[str, Rating] = {}
    for name, r in catalogue.items():
        if r["period"] not in RUN_KIND_OF_PERIOD:
            raise ValueError(f"rating {name}: period {r['period']!r} is not week, month or year")
        indicators = tuple(Indicator(**i) for i in r["indicators"])
        for i in indicators:
            if i.better not in ("more", "less"):
                raise ValueError(f"rating {name}: indicator {i.name} better={i.better!r}")
        out[name] = Rating(
            name=name,
            title=r.get("title", name),
            candidate=r["candidate"],
            history=r["history"],
            period=r["period"],
            indicators=indicators,
            weights=r.get("weights") or name,
            group=r.get("group"),
            unit=dict(r.get("unit") or {}),
            shown=tuple(Shown(**s) for s in r.get("shown") or ()),
            section=r.get("section", ""),
            unit_label=r.get("unit_label", ""),
        )
    return out


def catalogue(project_file: Path | None = None) -> dict[str, Rating]:
    """Every rating of the dbt project (DBT_PROJECT_FILE, read when called), by name, in
    declaration order."""
    return _load(project_file or DBT_PROJECT_FILE)


@functools.cache
def _load(project_file: Path) -> dict[str, Rating]:
    with project_file.open(encoding="utf-8") as f:
        return parse(yaml.safe_load(f)["vars"]["ratings"])


def of_kind(kind: str, project_file: Path | None = None) -> list[Rating]:
    """The ratings a run of `kind` (weekly | monthly | annual) rates, in declaration order."""
    if kind not in PERIOD_OF_RUN_KIND:
        raise ValueError(f"unknown run kind {kind!r}; expected one of {sorted(PERIOD_OF_RUN_KIND)}")
    return [r for r in catalogue(project_file).values() if r.kind == kind]
