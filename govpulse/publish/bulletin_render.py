"""What the weekly and the monthly bulletin share: the Jinja2 environment and its filters (Russian
numbers, dates and durations, moments in the territory's zone) and the folder written in one step.

A template that shows moments is rendered with `territory` (govpulse.territory.Territory) in its
context: `|moment` reads the zone and the city from it, so no zone is written here.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import jinja2

from govpulse.publish.durations import russian_duration
from govpulse.publish.folders import replace_folder
from govpulse.territory import Territory

MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
          "сентября", "октября", "ноября", "декабря")
MONTHS_NOMINATIVE = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
                     "сентябрь", "октябрь", "ноябрь", "декабрь")

# Templates live in govpulse/publish/templates and ship inside the package. Autoescaping turns
# every {{ value }} of an .html.j2 template into text: registry names and reasons are data, never
# markup. StrictUndefined makes a misspelt name fail the run instead of printing nothing.
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("govpulse.publish", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    finalize=lambda value: "" if value is None else value,  # a missing value shows as empty
)


def num(value: object, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, Decimal):  # DuckDB's DECIMAL columns (SUMs, literals)
        value = float(value)
    if isinstance(value, int | float):
        shown = (f"{int(value):,}" if isinstance(value, int) or value.is_integer()
                 else f"{value:,.{digits}f}")
        # Russian style: thin groups, decimal comma, a real minus sign.
        return shown.replace(",", "\u00a0").replace(".", ",").replace("-", "\u2212")
    return str(value)


def day(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def month(d: date) -> str:
    """«ноябрь 2026»."""
    return f"{MONTHS_NOMINATIVE[d.month - 1]} {d.year}"


def local(ts: datetime, territory: Territory) -> datetime:
    """An aware moment in the territory's zone (a naive one is taken as local already)."""
    return ts.astimezone(territory.zone) if ts.tzinfo is not None else ts


@jinja2.pass_context
def moment(context: jinja2.runtime.Context, ts: datetime | None) -> str:
    if ts is None:
        return "—"
    territory = context["territory"]
    return f"{local(ts, territory):%d.%m.%Y %H:%M} ({territory.city_ru})"


def duration(minutes: float | Decimal | None) -> str:
    return "—" if minutes is None else russian_duration(minutes)


def capfirst(text: str) -> str:
    """«органы …» as a heading: «Органы …» (Jinja's capitalize lowers the rest)."""
    return text[:1].upper() + text[1:]


FILTERS: dict[str, Callable[..., str]] = {
    "num": num, "day": day, "month": month, "moment": moment, "duration": duration,
    "capfirst": capfirst}
TEMPLATES.filters.update(FILTERS)


def write_folder(out_dir: Path, name: str, write: Callable[[Path], None]) -> Path:
    """`write(folder)` fills a hidden folder next to `out_dir/name`, which is then put in its
    place in one step (a reader never sees half a bulletin); returns `out_dir/name`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out_dir))
    try:
        write(work)
        os.chmod(work, 0o755)
        replace_folder(work, out_dir / name)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out_dir / name
