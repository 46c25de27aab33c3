"""Russian durations of the monthly bulletin (govpulse.publish.durations): plural forms and the
rounding of fractional minutes (to the nearest minute, halves up)."""

from __future__ import annotations

import math

import pytest

from govpulse.publish.durations import DAY, HOUR, MINUTE, plural, russian_duration


@pytest.mark.parametrize(("n", "word"), [
    (0, "минут"), (1, "минута"), (2, "минуты"), (3, "минуты"), (4, "минуты"), (5, "минут"),
    (11, "минут"), (12, "минут"), (14, "минут"), (15, "минут"), (21, "минута"), (22, "минуты"),
    (25, "минут"), (101, "минута"), (111, "минут"), (112, "минут"), (122, "минуты"),
])
def test_minute_forms(n: int, word: str) -> None:
    assert plural(n, MINUTE) == word


@pytest.mark.parametrize(("n", "word"), [
    (1, "час"), (2, "часа"), (4, "часа"), (5, "часов"), (11, "часов"), (20, "часов"),
    (21, "час"), (23, "часа"),
])
def test_hour_forms(n: int, word: str) -> None:
    assert plural(n, HOUR) == word


@pytest.mark.parametrize(("n", "word"), [(1, "день"), (2, "дня"), (5, "дней"), (11, "дней"),
                                         (21, "день"), (31, "день")])
def test_day_forms(n: int, word: str) -> None:
    assert plural(n, DAY) == word


@pytest.mark.parametrize(("minutes", "text"), [
    (45, "45 минут"),
    (1, "1 минута"),
    (21, "21 минута"),
    (60, "1 час"),
    (97, "1 час 37 минут"),
    (125, "2 часа 5 минут"),
    (86, "1 час 26 минут"),  # the Belgorod centre's «1 ч 26 мин»
    (5 * 60 + 11, "5 часов 11 минут"),
    (21 * 60 + 1, "21 час 1 минута"),
    (24 * 60, "1 день"),
    (27 * 60, "1 день 3 часа"),
    (2 * 24 * 60 + 22 * 60 + 2, "2 дня 22 часа 2 минуты"),
    (0, "0 минут"),
])
def test_durations(minutes: float, text: str) -> None:
    assert russian_duration(minutes) == text


@pytest.mark.parametrize(("minutes", "text"), [
    (0.4, "0 минут"),
    (0.5, "1 минута"),  # halves up
    (44.49, "44 минуты"),
    (44.5, "45 минут"),
    (89.5, "1 час 30 минут"),
    (59.6, "1 час"),  # rounding carries into the hour
    (142.5, "2 часа 23 минуты"),
    (1439.5, "1 день"),
])
def test_fractional_minutes_round_to_the_nearest_halves_up(minutes: float, text: str) -> None:
    assert russian_duration(minutes) == text


@pytest.mark.parametrize("minutes", [-1.0, math.nan])
def test_not_a_duration(minutes: float) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        russian_duration(minutes)
