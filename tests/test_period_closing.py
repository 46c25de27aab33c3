"""Issue 14: a week, month or year is rated only once it has closed in Asia/Almaty (METHODOLOGY
§0); the refusal says when the period closes. The annual tables of the year under way are a
"year to date" once the year has begun."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from govpulse.cli import main
from govpulse.orchestration.backfill import Period, closed_periods, periods_between
from govpulse.periods import (
    last_closed_start,
    period_closes_at,
    period_opens_at,
    period_start_of,
    refuse_open_period,
)
from govpulse.territory import Territory

WEEK = date(2026, 12, 11)  # closes Friday 2026-12-18 00:00 Asia/Almaty = Thursday 19:00 UTC
CLOSES = datetime(2026, 12, 17, 19, 0, tzinfo=UTC)


def test_a_week_closes_at_friday_midnight_in_almaty() -> None:
    assert period_closes_at("weekly", WEEK) == CLOSES
    refuse_open_period("weekly", WEEK, CLOSES)  # closed at that instant
    with pytest.raises(ValueError) as refused:
        refuse_open_period("weekly", WEEK, CLOSES - timedelta(seconds=1))
    assert str(refused.value) == (
        "week 2026-12-11 closes on 2026-12-18 00:00 Asia/Almaty (in 1 hour): a rating of a week "
        "that is not over would be incomplete; run it after it closes")


def test_a_week_refused_on_the_monday_before_says_in_how_many_days() -> None:
    monday = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"week 2026-12-11 closes on 2026-12-18 00:00 "
                                         r"Asia/Almaty \(in 10 days\)"):
        refuse_open_period("weekly", WEEK, monday)
    # the week under way (opened Friday 2026-12-04) is not over either; the one before is
    with pytest.raises(ValueError, match="week 2026-12-04 closes on 2026-12-11"):
        refuse_open_period("weekly", date(2026, 12, 4), monday)
    refuse_open_period("weekly", date(2026, 11, 27), monday)
    assert last_closed_start("weekly", monday) == date(2026, 11, 27)


def test_a_month_closes_at_the_first_midnight_of_the_next_month() -> None:
    november = date(2026, 11, 1)
    refuse_open_period("monthly", november, datetime(2026, 11, 30, 19, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match=r"month 2026-11 closes on 2026-12-01 00:00 "
                                         r"Asia/Almaty \(in 1 hour\)"):
        refuse_open_period("monthly", november, datetime(2026, 11, 30, 18, 0, tzinfo=UTC))
    assert last_closed_start("monthly", datetime(2026, 11, 30, 19, 0, tzinfo=UTC)) == november


def test_the_year_under_way_is_rated_to_date_but_not_a_year_not_begun() -> None:
    during = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    refuse_open_period("annual", date(2026, 1, 1), during)  # year to date
    with pytest.raises(ValueError, match="year 2027 has not begun"):
        refuse_open_period("annual", date(2027, 1, 1), during)
    refuse_open_period("annual", date(2027, 1, 1), datetime(2026, 12, 31, 19, 0, tzinfo=UTC))


def test_a_backfill_stops_at_the_last_closed_period() -> None:
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    run, not_over = closed_periods(periods_between(date(2026, 11, 20), date(2026, 12, 31)), now)
    assert run == [Period("weekly", date(2026, 11, 20)), Period("weekly", date(2026, 11, 27))]
    assert not_over[0] == Period("weekly", date(2026, 12, 4))
    assert Period("monthly", date(2026, 12, 1)) in not_over
    assert "closes on 2026-12-11 00:00" in not_over[0].closing(now)


def test_govpulse_run_refuses_a_week_not_over_before_starting_airflow(
        capsys: pytest.CaptureFixture) -> None:
    friday = date.today() + timedelta(days=(4 - date.today().weekday()) % 7 + 7)
    assert main(["run", "weekly", "--period-start", friday.isoformat()]) == 2
    err = capsys.readouterr().err
    assert f"week {friday} closes on {friday + timedelta(days=7)} 00:00 Asia/Almaty" in err
    assert "run it after it closes" in err


def test_govpulse_backfill_of_periods_not_over_runs_nothing(
        capsys: pytest.CaptureFixture) -> None:
    first = date.today() + timedelta(days=14)
    assert main(["backfill", "--from", first.isoformat(),
                 "--to", (first + timedelta(days=40)).isoformat()]) == 2
    captured = capsys.readouterr()
    assert "Stopping at the last closed period" in captured.out
    assert "has closed yet" in captured.err


MOSCOW_MONDAYS = Territory(territory_id="ru-test", timezone="Europe/Moscow", week_starts=0)
BERLIN_MONDAYS = Territory(territory_id="de-test", timezone="Europe/Berlin", week_starts=0)


def test_a_territory_cuts_its_periods_at_its_own_midnight() -> None:
    # October 2026 closes at Moscow midnight = 21:00 UTC, three hours before Almaty's 19:00 UTC+5
    october = date(2026, 10, 1)
    assert period_closes_at("monthly", october, territory=MOSCOW_MONDAYS) == \
        datetime(2026, 10, 31, 21, 0, tzinfo=UTC)
    assert period_closes_at("monthly", october) == datetime(2026, 10, 31, 19, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="closes on 2026-11-01 00:00 Europe/Moscow"):
        refuse_open_period("monthly", october, datetime(2026, 10, 31, 20, 59, tzinfo=UTC),
                           territory=MOSCOW_MONDAYS)
    refuse_open_period("monthly", october, datetime(2026, 10, 31, 21, 0, tzinfo=UTC),
                       territory=MOSCOW_MONDAYS)


def test_weeks_start_on_the_territorys_day() -> None:
    assert period_start_of("weekly", "2026-11-16", territory=MOSCOW_MONDAYS) == date(2026, 11, 16)
    with pytest.raises(ValueError, match="starts on a Monday .* starts on 2026-11-16"):
        period_start_of("weekly", "2026-11-20", territory=MOSCOW_MONDAYS)
    with pytest.raises(ValueError, match="starts on a Friday"):
        period_start_of("weekly", "2026-11-16")
    sunday_evening = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # 23:00 Moscow, Sunday
    assert last_closed_start("weekly", sunday_evening, territory=MOSCOW_MONDAYS) == \
        date(2026, 11, 16)
    assert last_closed_start("weekly", sunday_evening + timedelta(hours=1),
                             territory=MOSCOW_MONDAYS) == date(2026, 11, 23)


@pytest.mark.parametrize(("monday", "hours"), [
    (date(2026, 3, 23), 167),  # clocks go forward on Sunday 29 March
    (date(2026, 10, 19), 169),  # and back on Sunday 25 October
    (date(2026, 11, 16), 168),
])
def test_a_week_with_a_clock_change_is_still_midnight_to_midnight(monday: date,
                                                                  hours: int) -> None:
    opens = period_opens_at("weekly", monday, territory=BERLIN_MONDAYS)
    closes = period_closes_at("weekly", monday, territory=BERLIN_MONDAYS)
    assert (opens.hour, closes.hour) == (0, 0)
    assert (closes.astimezone(UTC) - opens.astimezone(UTC)) == timedelta(hours=hours)
