"""Demo data in the layout of a deployment that serves several territories (CONTRACTS §2a):

    <out>/territories/<territory_id>/   its registry (GOVPULSE_TERRITORIES=<out>/territories)
    <out>/inbox/<territory_id>/         its inbox (GOVPULSE_INBOX=<out>/inbox)

`kz` is the synthetic Kazakh registry and weeks of devtools.generate; `ru-mari-el` is the
shipped Mari El registry with a month of incidents and fakes (devtools.mari_el_demo).
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from devtools import generate as kz_demo
from devtools import mari_el_demo

TERRITORIES = ("kz", "ru-mari-el")


def generate_territory(territory_id: str, out: Path, weeks: int = 2, scale: float = 0.001,
                       seed: int = 42, first_week: date | None = None) -> dict[str, Any]:
    """Write one territory's registry and inbox under `out`; return what was written."""
    registry, inbox = out / "territories" / territory_id, out / "inbox" / territory_id
    first = first_week or kz_demo.default_first_period_start(weeks)
    if territory_id == "kz":
        work = out / f".generating-{territory_id}"
        summary = kz_demo.generate(work, weeks=weeks, scale=scale, seed=seed,
                                   first_period_start=first)
        for source, target in ((work / "registry", registry), (work / "inbox", inbox)):
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)
        shutil.rmtree(work, ignore_errors=True)
        return {"registry": registry, "inbox": inbox, "periods": summary["period_starts"],
                "rows": {k: v["rows"] for k, v in summary["datasets"].items()}}
    if territory_id == "ru-mari-el":
        # the month of the last generated week, as the Kazakh demo's monthly run
        month = (first + timedelta(weeks=weeks - 1)).replace(day=1)
        rows = mari_el_demo.generate(registry, inbox, month, seed=seed)
        return {"registry": registry, "inbox": inbox, "periods": [f"{month:%Y-%m}"],
                "rows": rows}
    raise ValueError(f"no demo data for territory {territory_id!r}: one of "
                     f"{', '.join(TERRITORIES)}")
