"""Issue 14: a week, month or year is rated only once it has closed in Asia/Almaty (METHODOLOGY
§0); the refusal says when the period closes. The annual tables of the year under way are a
"year to date" once the year has begun."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from govpulse.cli import main
from govpulse.orchestration.backfill import Period, closed_periods, periods_between
from govpulse.periods import last_closed_start, period_closes_at, refuse_open_period

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
