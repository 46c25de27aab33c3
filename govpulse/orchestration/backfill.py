"""Backfill: every week (and month) between two dates, in the order the periods close, each run
through its Airflow DAG exactly as `govpulse run` does. Periods whose inputs did not change
publish nothing new (METHODOLOGY §0 Revisions), so a backfill can be re-run safely."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TextIO

from govpulse.deployment import kinds_of
from govpulse.orchestration.runner import RunOutcome, run_dag
from govpulse.periods import (
    DEFAULT_TERRITORY,
    current_time,
    period_closes_at,
    period_end_of,
    refuse_open_period,
)
from govpulse.run import lock as run_lock
from govpulse.settings import Paths
from govpulse.territory import Territory

KIND_ORDER = {"weekly": 0, "monthly": 1}  # a month closing with a week runs after it


@dataclass(frozen=True)
class Period:
    kind: str  # weekly | monthly
    start: date

    @property
    def end(self) -> date:
        return period_end_of(self.kind, self.start)

    def __str__(self) -> str:
        return f"week {self.start}" if self.kind == "weekly" else f"month {self.start:%Y-%m}"

    def closing(self, now: datetime | None = None, territory: Territory | None = None) -> str:
        """Why the period is not run yet: when it closes (empty once it is over)."""
        try:
            refuse_open_period(self.kind, self.start, now, territory=territory)
        except ValueError as exc:
            return str(exc)
        return ""


def periods_between(first: date, last: date, months: bool = True,
                    territory: Territory | None = None) -> list[Period]:
    """The weeks (and calendar months) whose first day lies in [first, last], in the order they
    close: by period end, a week before the month that closes with it. A territory's weeks
    start on its week_starts day; a territory without weekly (or monthly) ratings has none."""
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    territory = territory or DEFAULT_TERRITORY
    kinds = kinds_of(territory)
    found: list[Period] = []
    week = first + timedelta(days=(territory.week_starts - first.weekday()) % 7)
    while week <= last and "weekly" in kinds:
        found.append(Period("weekly", week))
        week += timedelta(weeks=1)
    if months and "monthly" in kinds:
        month = first if first.day == 1 else period_end_of("monthly", first.replace(day=1))
        while month <= last:
            found.append(Period("monthly", month))
            month = period_end_of("monthly", month)
    return sorted(found, key=lambda p: (p.end, KIND_ORDER[p.kind], p.start))


def closed_periods(periods: list[Period], now: datetime | None = None,
                   territory: Territory | None = None) -> tuple[list[Period], list[Period]]:
    """Split the periods into those closed by `now` (run) and those not over yet (a rating of
    them would be incomplete: the DAG's start refuses them), in the territory's zone."""
    now = now or current_time(territory)
    closed = [p for p in periods if period_closes_at(p.kind, p.start, territory) <= now]
    return closed, [p for p in periods if p not in closed]


def backfill(paths: Paths, periods: list[Period], stream: TextIO,
             progress: TextIO | None = None, wait: bool = True,
             territory_id: str | None = None) -> list[tuple[Period, RunOutcome, float]]:
    """Run every period in order, writing a header per run and a summary at the end; stop at
    the first failure (a later period may depend on it: movement, annual means). The backfill
    holds the warehouse from its first period to its last (govpulse.run.lock), so no other run
    slips in between them."""
    done: list[tuple[Period, RunOutcome, float]] = []
    span = f"{periods[0].start} to {periods[-1].start}" if periods else ""
    with run_lock.hold(paths.warehouse, "backfill", span, wait=wait, stream=stream):
        for n, period in enumerate(periods, start=1):
            print(f"[{n}/{len(periods)}] {period} …", file=stream, flush=True)
            began = time.monotonic()
            # the docs describe the warehouse as it ends up: written once, by the last run
            outcome = run_dag(period.kind, paths, period.start, progress=progress,
                              docs=n == len(periods), territory_id=territory_id)
            done.append((period, outcome, time.monotonic() - began))
            if not outcome.ok:
                break
    print(summary(done, len(periods)), file=stream, flush=True)
    return done


def summary(done: list[tuple[Period, RunOutcome, float]], planned: int) -> str:
    lines = ["", f"Backfill: {len(done)} of {planned} periods run"]
    for period, outcome, seconds in done:
        revision = outcome.run.get("revision_published")
        state = ("failed: " + outcome.reason if not outcome.ok
                 else f"revision {revision} published" if revision else "unchanged")
        lines.append(f"  {str(period):<18} {seconds:6.1f} s  {state}")
    if len(done) < planned:
        lines.append("  the published docs were not rewritten: a backfill writes them at its "
                     "last period, which it did not reach (the next run writes them)")
    published = sum(1 for _, o, _ in done if o.ok and o.run.get("revision_published"))
    lines.append(f"  {published} published a new revision, "
                 f"{sum(1 for _, o, _ in done if o.ok) - published} unchanged, "
                 f"{sum(1 for _, o, _ in done if not o.ok)} failed")
    return "\n".join(lines)
