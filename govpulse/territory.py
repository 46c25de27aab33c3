"""Territory settings (CONTRACTS §2a): `<registry>/territory.yml`, one territory per registry.

Without the file every default applies (Kazakhstan: Asia/Almaty, weeks from Friday, due at
18:00, Russian and Kazakh). A bad value stops the run before anything is landed, with a message
naming the file, the key and the value, so the team that keeps the registry can fix it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import yaml

from govpulse import ratings

SETTINGS_FILE = "territory.yml"
DEFAULT_TIMEZONE = "Asia/Almaty"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LANGUAGES = ("ru", "kk")
# Besides the catalogue's ratings, a territory may run the monthly fakes report (METHODOLOGY §8).
REPORTS = ("fakes",)
KEYS = ("territory_id", "name_ru", "name_kk", "timezone", "week_starts", "deadline",
        "languages", "ratings")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# How readers' pages name a zone's local time: its city in Russian, nominative and genitive
# («(Москва)», «время Москвы»). A zone not listed is shown by its id.
ZONE_CITIES_RU = {
    "Asia/Almaty": ("Алматы", "Алматы"),
    "Asia/Qostanay": ("Костанай", "Костаная"),
    "Asia/Aqtobe": ("Актобе", "Актобе"),
    "Asia/Aqtau": ("Актау", "Актау"),
    "Asia/Atyrau": ("Атырау", "Атырау"),
    "Asia/Oral": ("Уральск", "Уральска"),
    "Asia/Qyzylorda": ("Кызылорда", "Кызылорды"),
    "Europe/Moscow": ("Москва", "Москвы"),
    "Europe/Kaliningrad": ("Калининград", "Калининграда"),
    "Europe/Samara": ("Самара", "Самары"),
    "Asia/Yekaterinburg": ("Екатеринбург", "Екатеринбурга"),
    "Asia/Omsk": ("Омск", "Омска"),
    "Asia/Novosibirsk": ("Новосибирск", "Новосибирска"),
    "Asia/Krasnoyarsk": ("Красноярск", "Красноярска"),
    "Asia/Irkutsk": ("Иркутск", "Иркутска"),
    "Asia/Yakutsk": ("Якутск", "Якутска"),
    "Asia/Vladivostok": ("Владивосток", "Владивостока"),
    "Asia/Magadan": ("Магадан", "Магадана"),
    "Asia/Kamchatka": ("Петропавловск-Камчатский", "Петропавловска-Камчатского"),
}


class TerritoryError(ValueError):
    """A territory.yml value govpulse cannot use; the message names file, key and value."""


@dataclass(frozen=True)
class Territory:
    territory_id: str
    timezone: str = DEFAULT_TIMEZONE
    week_starts: int = WEEKDAYS.index("friday")  # date.weekday() of a week's first day
    deadline: time = time(18, 0)  # local time on the closing day by which a week is due
    languages: tuple[str, ...] = LANGUAGES
    ratings: tuple[str, ...] | None = None  # None: every rating whose inputs exist
    name_ru: str = ""
    name_kk: str = ""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def city_ru(self) -> str:
        """The zone's city for «12.11.2026 09:30 (Москва)»; the zone id when none is known."""
        return ZONE_CITIES_RU.get(self.timezone, (self.timezone,))[0]

    @property
    def city_ru_genitive(self) -> str:
        """For «время Москвы»; the zone id when no city is known."""
        return ZONE_CITIES_RU.get(self.timezone, (self.timezone, self.timezone))[1]

    def shows(self, language: str) -> bool:
        """Whether readers see texts (names) in the language."""
        return language in self.languages

    def runs(self, rating: str) -> bool:
        """Whether the territory runs the rating (or report) at all."""
        return self.ratings is None or rating in self.ratings


def load_territory(registry: Path) -> Territory:
    """The territory of a registry folder: its territory.yml, else the defaults."""
    registry = Path(registry)
    path = registry / SETTINGS_FILE
    if not path.exists():
        return Territory(territory_id=_default_id(registry))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise TerritoryError(f"{path}: not readable YAML ({exc})") from None
    if not isinstance(data, dict):
        raise TerritoryError(f"{path}: expected `key: value` lines, found "
                             f"{type(data).__name__}")
    return _parse(path, data, _default_id(registry))


def _default_id(registry: Path) -> str:
    return registry.resolve().name


def _parse(path: Path, data: dict[str, Any], default_id: str) -> Territory:
    def bad(key: str, why: str, shown: object = None) -> TerritoryError:
        value = data.get(key) if shown is None else shown
        return TerritoryError(f"{path}: {key}: {value!r} {why}")

    unknown = sorted(set(map(str, data)) - set(KEYS))
    if unknown:
        raise TerritoryError(f"{path}: unknown key {unknown[0]!r} (the keys are "
                             f"{', '.join(KEYS)}; CONTRACTS §2a)")
    territory_id = str(data.get("territory_id") or default_id)
    if not SLUG.match(territory_id):
        raise bad("territory_id", "is not a short slug such as kz or ru-mari-el "
                  "(lower-case letters, digits and hyphens)")
    zone = str(data.get("timezone") or DEFAULT_TIMEZONE)
    if zone not in _zones():
        raise bad("timezone", "is not an IANA time zone such as Europe/Moscow or Asia/Almaty")
    weekday = str(data.get("week_starts") or "friday").strip().lower()
    if weekday not in WEEKDAYS:
        raise bad("week_starts", f"is not a weekday: one of {', '.join(WEEKDAYS)}")
    return Territory(
        territory_id=territory_id,
        timezone=zone,
        week_starts=WEEKDAYS.index(weekday),
        deadline=_deadline(data, bad),
        languages=_languages(data, bad),
        ratings=_ratings(data, bad),
        name_ru=str(data.get("name_ru") or ""),
        name_kk=str(data.get("name_kk") or ""),
    )


def _deadline(data: dict[str, Any], bad: Any) -> time:
    value = data.get("deadline", "18:00")
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value // 60}:{value % 60:02d}"  # YAML 1.1 reads 18:00 unquoted as 1080
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value).strip())
    if not match:
        raise bad("deadline", "is not a local time of day such as 18:00", shown=value)
    return time(int(match[1]), int(match[2]))


def _languages(data: dict[str, Any], bad: Any) -> tuple[str, ...]:
    value = data.get("languages", list(LANGUAGES))
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise bad("languages", "is not a list of languages such as [ru, kk]")
    languages = tuple(str(v).strip().lower() for v in items)
    unknown = [v for v in languages if v not in LANGUAGES]
    if unknown:
        raise bad("languages", f"holds {unknown[0]!r}: readers' languages are "
                  f"{', '.join(LANGUAGES)}")
    return languages


def _ratings(data: dict[str, Any], bad: Any) -> tuple[str, ...] | None:
    if data.get("ratings") is None:
        return None
    value = data["ratings"]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise bad("ratings", "is not a list of ratings such as [incidents, fakes]")
    known = (*ratings.catalogue(), *REPORTS)
    chosen = tuple(str(v).strip() for v in items)
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise bad("ratings", f"holds the unknown rating {unknown[0]!r}: one of "
                  f"{', '.join(known)}")
    return chosen


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())
