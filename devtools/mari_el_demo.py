"""A plausible month of Mari El's inbox for demos: incidents (METHODOLOGY §5) and fakes (§8).

`generate` copies the shipped registry (`registry/ru-mari-el`, built by devtools.mari_el_registry)
and writes

    <inbox>/incidents/<YYYY-MM>_incidents.csv   every body of the month with 2+ incidents
    <inbox>/fakes/<YYYY-MM>_fakes.csv           20–40 fakes, most refuted within hours, a few
                                                unrefuted, and two rows landing quarantines

Times are offset-less, i.e. Moscow local time (the territory's zone, CONTRACTS §3). The volume
is small (a few hundred rows), so rows come from Python's `random.Random(seed)`: the same
arguments give byte-identical files. Nothing is placed after the moment of generation (a month
still running is exported up to then, as a real export would be), so a past month does not
depend on the day it is generated.
"""

from __future__ import annotations

import random
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from devtools.default_registry import REPO_ROOT, Row, read_csv, write_csv
from govpulse.contract import DATASETS

REGISTRY = REPO_ROOT / "registry" / "ru-mari-el"
ZONE = ZoneInfo("Europe/Moscow")
TS_FORMAT = "%Y-%m-%d %H:%M:%S"  # no offset: Moscow local time
GROUPS = ("municipal", "ministry")
CITY = "88701000"  # городской округ «Город Йошкар-Ола»: the most incidents

CATEGORIES = ("ЖКХ", "Дороги", "Благоустройство", "Транспорт", "Здравоохранение", "Образование")
# the ministry an incident category or a fake's topic is addressed to (else a municipality)
MINISTRY_OF = {"Здравоохранение": "body-minzdrav", "Образование": "body-minobrnauki"}
PLATFORMS = ("vk", "vk", "vk", "telegram", "telegram", "ok")
URLS = {"vk": "https://vk.com/wall-{}_{}", "telegram": "https://t.me/s/mari_news/{}{}",
        "ok": "https://ok.ru/group/{}/topic/{}"}

# Fakes: (claim with {place}, topic); places in the prepositional case -> their municipality
PLACES = {"Йошкар-Оле": CITY, "Волжске": "88705000", "Козьмодемьянске": "88715000",
          "Медведевском районе": "88628000", "Звениговском районе": "88612000",
          "Советском районе": "88652000", "Моркинском районе": "88632000"}
CLAIMS = (
    ("В {place} отключат воду на неделю", "ЖКХ"),
    ("В {place} с понедельника отменят все автобусные маршруты", "Транспорт"),
    ("В {place} закрывают поликлинику на карантин", "Здравоохранение"),
    ("В школах в {place} отменят очные занятия до конца месяца", "Образование"),
    ("В {place} перекроют главную дорогу на полгода", "Дороги"),
    ("В {place} вырубят сквер под застройку", "Благоустройство"),
    ("В {place} отключат отопление из-за долгов управляющей компании", "ЖКХ"),
    ("В больнице в {place} закончились лекарства для диабетиков", "Здравоохранение"),
    ("В {place} поднимут цену проезда вдвое", "Транспорт"),
    ("Детские сады в {place} будут платными для всех", "Образование"),
)
BAD_FAKES = 2  # rows landing quarantines: a refutation before the fake, an unknown body


def generate(registry_dir: Path, inbox_dir: Path, month: date, seed: int = 42) -> dict[str, int]:
    """Copy the Mari El registry into `registry_dir` and write the month of `month` (its first
    day is taken) into `inbox_dir`; return the rows written per dataset (fakes include the
    rows to be quarantined, counted again as `fakes_quarantined`)."""
    month = month.replace(day=1)
    registry_dir, inbox_dir = Path(registry_dir), Path(inbox_dir)
    shutil.rmtree(registry_dir, ignore_errors=True)
    shutil.copytree(REGISTRY, registry_dir)
    bodies = _bodies(registry_dir, month)
    rng = random.Random(f"{seed}-{month:%Y-%m}")
    window = _window(month)
    incidents = _incidents(rng, bodies, window)
    fakes = _fakes(rng, window)
    for dataset, rows in (("incidents", incidents), ("fakes", fakes)):
        folder = inbox_dir / dataset
        folder.mkdir(parents=True, exist_ok=True)
        write_csv(folder / f"{month:%Y-%m}_{dataset}.csv",
                  [c.name for c in DATASETS[dataset]], rows)
    return {"incidents": len(incidents), "fakes": len(fakes), "fakes_quarantined": BAD_FAKES}


def _bodies(registry: Path, month: date) -> dict[str, list[str]]:
    """Entity ids of each body group active in the month (one per id, in file order)."""
    end = _next_month(month)
    out: dict[str, list[str]] = {group: [] for group in GROUPS}
    for row in read_csv(registry / "entities.csv"):
        active = ((not row["valid_from"] or date.fromisoformat(row["valid_from"]) < end)
                  and (not row["valid_to"] or date.fromisoformat(row["valid_to"]) >= month))
        group = row["body_group"] or "municipal"
        if active and group in out and row["entity_id"] not in out[group]:
            out[group].append(row["entity_id"])
    return out


def _next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def _window(month: date) -> tuple[datetime, datetime]:
    """The month in local time, up to now for a month still running (naive local times)."""
    start = datetime(month.year, month.month, 1)
    end = datetime.combine(_next_month(month), datetime.min.time())
    now = datetime.now(ZONE).replace(tzinfo=None, microsecond=0)
    return start, min(end, now)


def _stamp(moment: datetime | None, window: tuple[datetime, datetime]) -> str:
    """A local time as the export writes it; empty for none or one after the export."""
    if moment is None or moment >= window[1] + timedelta(days=3) or moment > _now():
        return ""
    return moment.strftime(TS_FORMAT)


def _now() -> datetime:
    return datetime.now(ZONE).replace(tzinfo=None)


def _moment(rng: random.Random, window: tuple[datetime, datetime]) -> datetime:
    """A moment of the window, mostly in the daytime."""
    start, end = window
    seconds = max(int((end - start).total_seconds()) - 1, 1)
    moment = start + timedelta(seconds=rng.randrange(seconds))
    if rng.random() < 0.8 and not 8 <= moment.hour < 22:  # people post by day
        moment = moment.replace(hour=rng.randrange(8, 22))
    return min(moment, end - timedelta(seconds=1))


def _url(rng: random.Random, platform: str) -> str:
    return URLS[platform].format(rng.randrange(10**7, 10**8), rng.randrange(1, 10**5))


def _incidents(rng: random.Random, bodies: dict[str, list[str]],
               window: tuple[datetime, datetime]) -> list[Row]:
    municipalities = bodies["municipal"]
    rows: list[Row] = []
    for group in GROUPS:
        for body in bodies[group]:
            count = 2 + rng.randrange(4 if group == "ministry" else 8) + (25 if body == CITY else 0)
            for _ in range(count):
                rows.append(_incident(rng, body, group, municipalities, window))
    rows.sort(key=lambda r: r["detected_at"])
    for number, row in enumerate(rows, 1):
        row["incident_id"] = f"ME-{window[0]:%Y%m}-{number:04d}"
    return rows


def _incident(rng: random.Random, body: str, group: str, municipalities: list[str],
              window: tuple[datetime, datetime]) -> Row:
    detected = _moment(rng, window)
    if group == "ministry":
        category = next((c for c, m in MINISTRY_OF.items() if m == body), None)
        category = category or rng.choice(CATEGORIES)
        municipality = rng.choice(municipalities)
    else:
        category = rng.choice([c for c in CATEGORIES if c not in MINISTRY_OF] * 3
                              + list(MINISTRY_OF))
        municipality = body
    platform = rng.choice(PLATFORMS)
    row: Row = {"detected_at": _stamp(detected, window), "body_id": body, "platform": platform,
                "url": _url(rng, platform), "category": category,
                "municipality_id": municipality}
    if rng.random() < 0.9:  # answered: minutes to hours, a few past the 8-hour deadline
        minutes = min(rng.lognormvariate(4.3, 1.0), 60 * 30)
        response = detected + timedelta(minutes=round(minutes, 1))
        row["first_response_at"] = _stamp(response, window)
        row["answer_quality"] = str(rng.choice((2, 3, 4, 4, 5, 5)))
        if row["first_response_at"] and rng.random() < 0.65:
            resolved = response + timedelta(hours=rng.uniform(2, 96))
            row["resolved_at"] = _stamp(resolved, window)
            if row["resolved_at"]:
                row["satisfaction"] = rng.choice(("satisfied", "satisfied", "unsatisfied", ""))
    return row


def _fakes(rng: random.Random, window: tuple[datetime, datetime]) -> list[Row]:
    rows = sorted((_fake(rng, "", window) for _ in range(rng.randrange(20, 41))),
                  key=lambda r: r["first_seen_at"])
    for number, row in enumerate(rows, 1):
        row["fake_id"] = f"FK-{window[0]:%Y%m}-{number:03d}"
    # two rows that break the contract: landing quarantines them with their reason
    early = _fake(rng, f"FK-{window[0]:%Y%m}-BAD1", window)
    seen = datetime.strptime(early["first_seen_at"], TS_FORMAT)
    early["refuted_at"] = _stamp(seen - timedelta(hours=3), (window[0] - timedelta(days=1),
                                                             window[1]))
    unknown = _fake(rng, f"FK-{window[0]:%Y%m}-BAD2", window)
    unknown["body_id"] = "body-minpechati"  # not in the registry
    return [*rows, early, unknown]


def _fake(rng: random.Random, fake_id: str, window: tuple[datetime, datetime]) -> Row:
    template, topic = rng.choice(CLAIMS)
    place = rng.choice(sorted(PLACES))
    seen = _moment(rng, window)
    platform = rng.choice(PLATFORMS)
    reach = rng.randrange(300, 60_000)
    body = MINISTRY_OF.get(topic) or PLACES[place]
    row: Row = {"fake_id": fake_id, "claim": template.format(place=place),
                "first_seen_at": _stamp(seen, window), "platform": platform,
                "url": _url(rng, platform),
                "reach": "" if rng.random() < 0.1 else str(reach),
                "body_id": "" if rng.random() < 0.15 else body}
    draw = rng.random()
    if draw < 0.85:  # refuted: mostly within hours, some after a day or more
        hours = rng.uniform(0.5, 12) if draw < 0.7 else rng.uniform(12, 72)
        row["refuted_at"] = _stamp(seen + timedelta(hours=round(hours, 2)), window)
        if row["refuted_at"]:
            row["refutation_url"] = f"https://t.me/s/mari_el_official/{rng.randrange(10**4)}"
            row["refutation_reach"] = str(int(reach * rng.uniform(0.2, 1.5)))
    return row
