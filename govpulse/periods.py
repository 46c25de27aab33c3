"""Periods a run rates (METHODOLOGY §0: weeks, calendar months; §7: years): how they are named,
where they start and end, and when they close: at midnight in the territory's time zone, its
weeks starting on its `week_starts` day (govpulse.territory; without a territory, Kazakhstan's:
Asia/Almaty, weeks from Friday). A week in a zone with daylight saving time is 167 or 169 hours
long when the clocks change in it: it still runs from local midnight to local midnight."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from govpulse.settings import forced_now
from govpulse.territory import WEEKDAYS, Territory

# What a period rule uses when no territory is given: the defaults of CONTRACTS §2a.
DEFAULT_TERRITORY = Territory(territory_id="default")

# Run kinds, and the unit of time each rates (the words readers see in progress and errors).
UNIT_OF_KIND = {"weekly": "week", "monthly": "month", "annual": "year"}


def parse_week(value: str | date, territory: Territory | None = None) -> date:
    """A reporting week is named by its first day, the territory's `week_starts` day (a Friday
    by default, METHODOLOGY §0)."""
    first = (territory or DEFAULT_TERRITORY).week_starts
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    if day.weekday() != first:
        start = day - timedelta(days=(day.weekday() - first) % 7)
        raise ValueError(
            f"{day} is a {day:%A}: a reporting week starts on a {WEEKDAYS[first].title()} "
            f"(the week containing {day} starts on {start})"
        )
    return day


KINDS = tuple(UNIT_OF_KIND)


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


def period_start_of(kind: str, value: str | date, territory: Territory | None = None) -> date:
    """The first day of the period a run of `kind` rates, checked."""
    if kind not in UNIT_OF_KIND:
        raise ValueError(f"unknown run kind {kind!r}: one of {', '.join(KINDS)}")
    start = (parse_week(value, territory) if kind == "weekly"
             else parse_month(value) if kind == "monthly" else parse_year(value))
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


def _zone(territory: Territory | None) -> ZoneInfo:
    return (territory or DEFAULT_TERRITORY).zone


def local_midnight(day: date, territory: Territory | None = None) -> datetime:
    """00:00 of `day` in the territory's zone, as an aware datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=_zone(territory))


def period_opens_at(kind: str, start: date, territory: Territory | None = None) -> datetime:
    """The instant the period opens: local midnight of its first day."""
    return local_midnight(start, territory)


def period_closes_at(kind: str, start: date, territory: Territory | None = None) -> datetime:
    """The instant the period closes: midnight of its (exclusive) end in the territory's zone."""
    return local_midnight(period_end_of(kind, start), territory)


def current_time(territory: Territory | None = None) -> datetime:
    """Now (in the territory's zone), or the instant GOVPULSE_NOW names (tests only)."""
    return forced_now() or datetime.now(_zone(territory))


def refuse_open_period(kind: str, start: date, now: datetime | None = None,
                       territory: Territory | None = None) -> None:
    """Raise ValueError when the period has not closed by `now` (default current_time()): its
    rating would be incomplete. An annual run of the year under way is allowed once the year has
    begun: its tables sum up the (closed) weeks published so far, labelled "year to date"
    (docs/methodology-notes.md)."""
    zone = (territory or DEFAULT_TERRITORY).timezone
    now = now or current_time(territory)
    closes = period_closes_at(kind, start, territory)
    if now >= closes:
        return
    if kind == "annual":
        opens = period_opens_at(kind, start, territory)
        if now >= opens:
            return  # year to date
        raise ValueError(
            f"year {start:%Y} has not begun (it opens on {start} 00:00 {zone}, "
            f"{_in_how_long(opens - now)}): there is no week of it to sum up")
    name, noun = ((f"week {start}", "week") if kind == "weekly"
                  else (f"month {start:%Y-%m}", "month"))
    raise ValueError(
        f"{name} closes on {closes:%Y-%m-%d %H:%M} {zone} "
        f"({_in_how_long(closes - now)}): a rating of a {noun} that is not over would be "
        f"incomplete; run it after it closes")


def _in_how_long(left: timedelta) -> str:
    days = left.days
    if left < timedelta(days=1):
        hours = max(1, round(left.total_seconds() / 3600))
        return f"in {hours} hour{'s' if hours != 1 else ''}"
    return f"in {days} day{'s' if days != 1 else ''}"


def last_closed_start(kind: str, now: datetime | None = None,
                      territory: Territory | None = None) -> date:
    """The first day of the latest period of `kind` (weekly or monthly) closed by `now`."""
    today = (now or current_time(territory)).astimezone(_zone(territory)).date()
    if kind == "weekly":
        weekday = (territory or DEFAULT_TERRITORY).week_starts
        this_week = today - timedelta(days=(today.weekday() - weekday) % 7)  # the day it opened
        return this_week - timedelta(weeks=1)
    if kind == "monthly":
        first = today.replace(day=1)
        return (first - timedelta(days=1)).replace(day=1)
    raise ValueError(f"no closed-period rule for {kind!r}")


