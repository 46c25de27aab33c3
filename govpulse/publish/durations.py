"""Durations in Russian words, as the centres publish response times: «1 час 37 минут»,
«2 часа 5 минут», «45 минут», «1 день 3 часа».

Fractional minutes are rounded to the nearest whole minute, halves up (89.5 → 90 → «1 час
30 минут»): the published averages are exact to 6 decimals (METHODOLOGY §0), the reader gets
whole minutes, and half up is how people round by hand. Parts that are zero are left out
(«2 часа», not «2 часа 0 минут»); under half a minute is «0 минут».
"""

from __future__ import annotations

import math
from decimal import Decimal

MINUTE = ("минута", "минуты", "минут")
HOUR = ("час", "часа", "часов")
DAY = ("день", "дня", "дней")


def plural(n: int, forms: tuple[str, str, str]) -> str:
    """The form of a noun after the number n: 1 минута, 2 минуты, 5 минут, 11 минут, 21 минута."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


def counted(n: int, forms: tuple[str, str, str]) -> str:
    """«21 час», «3 дня»."""
    return f"{n} {plural(n, forms)}"


def russian_duration(minutes: float | Decimal) -> str:
    """A non-negative number of minutes as days, hours and minutes in words."""
    minutes = float(minutes)  # DuckDB gives DECIMAL for some published columns
    if math.isnan(minutes) or minutes < 0:
        raise ValueError(f"not a duration in minutes: {minutes!r}")
    total = math.floor(minutes + 0.5)  # nearest minute, halves up
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [counted(n, forms) for n, forms in ((days, DAY), (hours, HOUR), (mins, MINUTE)) if n]
    return " ".join(parts) or counted(0, MINUTE)
