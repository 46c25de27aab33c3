"""Deterministic synthetic inbox (and registry copy) for demos and tests.

Every row is produced by DuckDB SQL from `range()` and `hash(seed, …)`, so the same arguments
give byte-identical files whatever the thread count. Per-row values are keyed by the week's
ordinal (weeks since 2020-01-03), not by its position in the run, so a week's files do not depend
on how many weeks are generated (except the copies carried over from the previous week).

Scale 1 is a national week: about 20 million mentions (regions drawn by a Zipf law of their
population rank: a few big regions, a long tail), 50,000 pages, 1 million post captures,
5 million interactions, 200,000 follower-audit rows, and 200,000 incidents a month. The
registry's own pages (~170) are kept; when 50,000·scale is more, pages of the registry's current
regions and municipalities are added to the registry copy (see `_add_pages`): official pages on
the platforms where a unit has none, personal Instagram pages of rural and town akims, and pages
of institutions (akimat departments, rural districts' akim offices, schools, kindergartens,
colleges). Below that (e.g. the default scale 0.001) the page datasets are what the registry's
pages give. Generated institutions' pages post about daily; generated akim pages export more of
their likes; interactions also come from some generated institutions' Instagram pages.

Memory stays bounded (about 1.7 GB at scale 1): DuckDB gets a memory limit and a temporary
folder under out_dir (removed afterwards) to spill to, and a week's mentions, which would take
~17 GB to sort at once, are written in time slices of about half a million rows, each sorted on
its own and appended to the file: the bytes are those of one sort (see `_write_mentions`).

Layout written under `out_dir`:

    registry/                      copy of the registry folder used
    inbox/mentions/<ps>_mentions.csv              (+ <ps>_mentions_late_export.csv, bad rows)
    inbox/page_snapshots/<ps>_page_snapshots.jsonl
    inbox/page_posts/<ps>_page_posts.json|.csv    (JSON array and CSV alternate by week)
    inbox/post_interactions/<ps>_post_interactions.jsonl
    inbox/follower_audits/<ps>_follower_audits.csv
    inbox/incidents/<ym>_incidents.csv            every incident of the month
    inbox/incidents/<ym>_incidents_late.csv       late corrections (+ bad rows)
    registry/entities.csv                         + responsible bodies (level `body`)
    registry/pages.csv                            + generated pages (scale above ~0.0035)
    registry/expert_scores.csv                    expert commission scores per year

`<ps>` is the week's period_start (a Friday, ISO date), so byte order of names = time order.
`<ym>` is a calendar month (YYYY-MM, Asia/Almaty) touched by the weeks: incidents cover whole
months, because the incident rating is monthly; the month still running when the last week
closes is exported up to that instant, as a real export would be. Incident rows are keyed by the
month's ordinal, so a month that ended before the last week closed does not depend on which
weeks touched it.

Incidents (about 200,000 a month at scale 1, at least 200): municipal bodies (district, city and
city-district entities) and the generated ministries / regional services, skewed by size. Each
body group has one body with exactly one incident in the month (below the rated minimum of 2)
and one with exactly two, detected at the month's first and last second (Almaty time). Some
incidents get no response, some an overdue one (two sit on the 8-hour edge: 8:00:00, 8:00:01),
some are resolved with or without feedback. Every 40th incident is first exported unanswered
and answered in the late file; the late file also carries rows to quarantine (answer_quality 7,
an unknown satisfaction, a body not in the registry).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import duckdb

from govpulse.contract import PLATFORMS
from govpulse.warehouse.sql import first_row, literal

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGISTRY = REPO_ROOT / "registry" / "kz"

LAST_PERIOD_START = date(2026, 11, 13)  # latest complete week before 2026-11-20
EPOCH_FRIDAY = date(2020, 1, 3)  # week ordinals count from this Friday
MENTIONS_PER_WEEK_AT_SCALE_1 = 20_000_000
EXPORT_HOURS = 10  # exports are dropped on Friday 10:00, before the 18:00 deadline
SPECIAL_ID_BASE = 990_000_000  # mention ids above this are hand-shaped rows, not the bulk
LATE_ID_BASE = 995_000_000
INCIDENTS_PER_MONTH_AT_SCALE_1 = 200_000
# the monthly rating needs a few bodies above its minimum count in every group
MIN_INCIDENTS_PER_MONTH = 200
INCIDENT_SPECIAL_BASE = 90_000_000  # incident numbers of hand-shaped rows (role bodies)
INCIDENT_BAD_BASE = 95_000_000  # incident numbers of rows that break the contract
LATE_EVERY = 40  # every 40th incident is exported unanswered first, corrected later
TS_FORMAT = "%Y-%m-%dT%H:%M:%S"  # incidents: ISO-8601 without offset = Asia/Almaty time
# Resources: DuckDB may use this much memory (sorts spill to a temporary folder in out_dir), and
# the week's mentions are sorted and written in time slices of at most about this many rows.
MEMORY_LIMIT = "1.5GB"
MENTIONS_PER_SLICE = 500_000
TMP_DIR = ".generate-tmp"  # under out_dir, removed afterwards
SUMMARY_FILE = "generated.json"  # the summary generate() returns, next to the data
MENTIONS_PER_SPAM_AUTHOR = 5000  # one mass-sharing author per this many mentions (+ 3)

# Pages: at scale X the generated registry holds about 50,000·X pages (the registry's own
# pages and generated ones). Of the generated pages, OFFICIAL_PCT % are official pages of
# regions and municipalities on platforms where the registry lists none (as long as there are
# such), AKIM_PCT % personal Instagram pages of local akims, the rest pages of institutions.
PAGES_AT_SCALE_1 = 50_000
OFFICIAL_PCT = 4
AKIM_PCT = 5
# Generated akim pages: the share (%) whose followers are audited (two audits of ~125
# followers in every week's file), and the likes of a post that are exported (at most
# EXTRA_LIKES_BASE + rn(EXTRA_LIKES_SPREAD), registry pages: 10 + rn(60)); interactions are also
# exported for this share (%) of the other generated Instagram pages.
EXTRA_AUDITED_PCT = 30
EXTRA_LIKES_BASE = 60
EXTRA_LIKES_SPREAD = 600
EXTRA_INTERACTIONS_PCT = 30
# Institutions' pages: (share in %) per platform
OTHER_PLATFORMS: list[tuple[str, int]] = [
    ("instagram", 40), ("facebook", 25), ("telegram", 20), ("youtube", 5), ("vk", 4), ("ok", 4),
    ("x", 2),
]
# Departments of a region's akimat and of a municipality's (Kazakh names, after the unit's)
REGION_DEPTS = [
    "білім басқармасы", "денсаулық сақтау басқармасы", "ішкі саясат басқармасы",
    "жұмыспен қамтуды үйлестіру және әлеуметтік бағдарламалар басқармасы",
    "мәдениет басқармасы", "дене шынықтыру және спорт басқармасы",
    "энергетика және тұрғын үй-коммуналдық шаруашылық басқармасы",
    "жолаушылар көлігі және автомобиль жолдары басқармасы", "ауыл шаруашылығы басқармасы",
    "кәсіпкерлік басқармасы", "табиғи ресурстар басқармасы", "туризм басқармасы",
    "жастар саясаты басқармасы", "цифрландыру басқармасы", "құрылыс басқармасы",
    "қаржы басқармасы", "мәслихаты", "полиция департаменті", "төтенше жағдайлар департаменті",
    "тілдерді дамыту басқармасы",
]
MUNI_DEPTS = [
    "білім бөлімі", "ішкі саясат бөлімі", "жұмыспен қамту орталығы",
    "жастар ресурстық орталығы", "мәдениет үйі", "орталық кітапханасы", "орталық ауруханасы",
    "тұрғын үй-коммуналдық шаруашылығы бөлімі", "ауыл шаруашылығы бөлімі",
    "дене шынықтыру және спорт бөлімі", "жер қатынастары бөлімі", "құрылыс бөлімі",
    "кәсіпкерлік бөлімі", "мәслихаты", "әлеуметтік бағдарламалар бөлімі", "полиция бөлімі",
    "емханасы", "төтенше жағдайлар бөлімі",
]
# rural districts (ауылдық округ) of a district, by common village names
VILLAGES = [
    "Ақсу", "Көктөбе", "Жаңаталап", "Қарабұлақ", "Ақжар", "Береке", "Бірлік", "Жаңаауыл",
    "Қызылжар", "Ақтоғай", "Көкжар", "Сарыбұлақ", "Талдыбұлақ", "Қаратал", "Жетісу",
    "Алғабас", "Шұбар", "Ынтымақ", "Достық", "Бостандық", "Тасқала", "Ақбұлақ", "Қаракөл",
    "Жайлау",
]
AKIM_FIRST = [
    "Ерлан", "Марат", "Нұрлан", "Асқар", "Бауыржан", "Дәурен", "Қайрат", "Серік", "Ержан",
    "Талғат", "Ғалым", "Айдос", "Мұрат", "Руслан", "Жандос", "Бекзат", "Ақмарал", "Айгүл",
    "Гүлнар", "Жанар",
]
AKIM_FEMALE = {"Ақмарал", "Айгүл", "Гүлнар", "Жанар"}
AKIM_LAST = [
    "Сапаров", "Омаров", "Төлегенов", "Жұмабаев", "Ахметов", "Исаев", "Қасымов", "Серікбаев",
    "Бекмұхамбетов", "Нұрпейісов", "Тұрсынов", "Мұқанов", "Оспанов", "Байжанов", "Есенов",
    "Жақсылықов", "Құдайбергенов", "Әбдірахманов",
]
AKIM_HANDLE_ENDS = ["_akim", ".akim", "_akimi", "_official"]
TRANSLIT = dict(zip(
    "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя",
    ["a", "a", "b", "v", "g", "g", "d", "e", "yo", "zh", "z", "i", "y", "k", "q", "l", "m", "n",
     "n", "o", "o", "p", "r", "s", "t", "u", "u", "u", "f", "kh", "h", "ts", "ch", "sh", "shch",
     "", "y", "i", "", "e", "yu", "ya"], strict=True))

PLATFORM_CASE = """CASE
    WHEN {r} < 30 THEN 'instagram' WHEN {r} < 50 THEN 'telegram' WHEN {r} < 65 THEN 'facebook'
    WHEN {r} < 75 THEN 'vk' WHEN {r} < 83 THEN 'ok' WHEN {r} < 91 THEN 'youtube' ELSE 'x' END"""

# Texts: `{a}` (and `{b}`) are replaced by region aliases. Generic texts must name no place.
TEMPLATES: dict[tuple[str, str], list[str]] = {
    ("one", "ru"): [
        "{a}: опять отключили горячую воду, когда починят?",
        "Спасибо, {a}! Двор наконец-то заасфальтировали.",
        "{a} — ямы на дорогах никто не ремонтирует уже третий месяц.",
        "Открыли новую школу, молодцы ({a}).",
        "Автобусы ходят раз в час, это нормально? {a}",
        "{a}: когда уберут снег с тротуаров?",
        "Хорошая новость для жителей: {a} запускает приём заявок на субсидии.",
        "Очередь в поликлинике с самого утра, {a}, обратите внимание!",
        "{a} провёл встречу с жителями, все вопросы записали.",
        "Фонари во дворе не горят неделю. {a}, ау?",
        "Мусор не вывозят уже пять дней #{a}",
        "В выходные ярмарка, {a} приглашает всех.",
    ],
    ("one", "kk"): [
        "{a}: ыстық су тағы да өшірілді, қашан жөндейді?",
        "Рахмет, {a}! Ауламызға жаңа балалар алаңы салынды.",
        "{a} — жолдағы шұңқырларды ешкім жөндемейді.",
        "Жаңа мектеп ашылды, жарайсыңдар ({a}).",
        "Автобус сағатына бір рет жүреді, бұл қалыпты ма? {a}",
        "{a}: тротуардағы қарды қашан тазалайды?",
        "{a} тұрғындармен кездесу өткізді, барлық сұрақтар жазылды.",
        "Емханада таңертеңнен кезек көп, {a}, назар аударыңыздар!",
        "Қоқыс бес күннен бері шығарылмай жатыр #{a}",
        "Демалыс күндері жәрмеңке, {a} барлығын шақырады.",
    ],
    ("two", "ru"): [
        "{a} и {b}: где лучше с дорогами? Сравниваем.",
        "Переехал: {b} → {a}. Цены на жильё выросли.",
        "{a} или {b} — где быстрее отвечают на жалобы?",
    ],
    ("two", "kk"): [
        "{a} мен {b}: қай жерде жол жақсы?",
        "{b} → {a} көшіп келдім, пәтер бағасы қымбат.",
    ],
    ("generic", "ru"): [
        "Когда уже починят дорогу возле школы?",
        "Акимат, спасибо за освещение во дворе!",
        "Опять нет воды весь день.",
        "Хороший концерт был вчера на площади.",
        "Кто знает, где принимают документы на пособие?",
        "Ёлку на площади уже ставят, красиво.",
    ],
    ("generic", "kk"): [
        "Жол қашан жөнделеді?",
        "Әкімдікке рахмет, аулада жарық бар!",
        "Күні бойы су жоқ.",
        "Кеше алаңда тамаша концерт болды.",
    ],
    ("spam", "ru"): [
        "🔥 {a} — лучший регион! Подписывайтесь и делайте репост!",
        "Только сегодня: {a} раздаёт подарки, переходи по ссылке в профиле",
    ],
    ("spam", "kk"): ["{a} — ең үздік өңір! Жазылыңыз, бөлісіңіз!"],
}
# Responsible bodies added to the generated registry: (entity_id, body_group, name_ru, name_kk,
# parent_id, category the body mostly gets). The parent is kept only if the registry has it.
BODIES: list[tuple[str, str, str, str | None, str | None, str]] = [
    ("body-minzdrav", "ministry", "Министерство здравоохранения Республики Казахстан",
     "Қазақстан Республикасы Денсаулық сақтау министрлігі", None, "Здравоохранение"),
    ("body-minprosv", "ministry", "Министерство просвещения Республики Казахстан",
     "Қазақстан Республикасы Оқу-ағарту министрлігі", None, "Образование"),
    ("body-mintrans", "ministry", "Министерство транспорта Республики Казахстан",
     "Қазақстан Республикасы Көлік министрлігі", None, "Транспорт"),
    ("body-minenergo", "ministry", "Министерство энергетики Республики Казахстан",
     "Қазақстан Республикасы Энергетика министрлігі", None, "ЖКХ"),
    ("body-minvodres", "ministry",
     "Министерство водных ресурсов и ирригации Республики Казахстан",
     "Қазақстан Республикасы Су ресурстары және ирригация министрлігі", None, "ЖКХ"),
    ("body-mchs", "ministry", "Министерство по чрезвычайным ситуациям Республики Казахстан",
     "Қазақстан Республикасы Төтенше жағдайлар министрлігі", None, "Благоустройство"),
    ("body-almaty-health", "regional_service",
     "Управление общественного здравоохранения города Алматы",
     "Алматы қаласының Қоғамдық денсаулық сақтау басқармасы", "750000000", "Здравоохранение"),
    ("body-almaty-109", "regional_service", "Единый контакт-центр 109 города Алматы", None,
     "750000000", "ЖКХ"),
    ("body-astana-transport", "regional_service", "Управление транспорта города Астаны",
     "Астана қаласының Көлік басқармасы", "710000000", "Транспорт"),
    ("body-shymkent-energy", "regional_service",
     "Управление энергетики и коммунального хозяйства города Шымкента",
     "Шымкент қаласының Энергетика және коммуналдық шаруашылық басқармасы", "790000000", "ЖКХ"),
    ("body-karaganda-roads", "regional_service",
     "Управление пассажирского транспорта и автомобильных дорог Карагандинской области",
     "Қарағанды облысының Жолаушылар көлігі және автомобиль жолдары басқармасы", "350000000",
     "Дороги"),
    ("body-turkestan-education", "regional_service", "Управление образования Туркестанской области",
     "Түркістан облысының Білім басқармасы", "610000000", "Образование"),
]
# (category, share in %) of incidents not about a body's own field
CATEGORIES: list[tuple[str, int]] = [
    ("ЖКХ", 30), ("Дороги", 19), ("Благоустройство", 17), ("Транспорт", 11),
    ("Здравоохранение", 8), ("Образование", 7), ("Экология", 4), ("Социальная защита", 4),
]
# (body group, share of the month's incidents); groups only the registry knows get 5 each
GROUP_SHARES: dict[str, int] = {"municipal": 76, "regional_service": 12, "ministry": 12}
MUNICIPAL_LEVELS = ("district", "city", "city_district")
BAD_SATISFACTION = "удовлетворен"  # a value the contract does not know

GLUE_SUFFIXES = ["дағы", "ға", "ның", "ский", "2026"]
GLUE_PREFIXES = ["Жаңа", "супер", "нео"]
LATIN_FIRST = ["aigerim", "dana", "aruzhan", "nurlan", "erlan", "aidos", "madina", "timur",
               "asel", "sanzhar", "dias", "kamila", "alibek", "zhanna", "ruslan", "dinara"]
LATIN_LAST = ["sapar", "bekov", "nur", "zhan", "kassym", "omar", "serik", "tulegen"]


# ---------------------------------------------------------------- public API


def default_first_period_start(weeks: int) -> date:
    """First week such that the last generated week starts on 2026-11-13."""
    return LAST_PERIOD_START - timedelta(weeks=weeks - 1)


def generate(
    out_dir: Path,
    weeks: int = 2,
    scale: float = 0.001,
    seed: int = 42,
    first_period_start: date | None = None,
    registry_dir: Path = DEFAULT_REGISTRY,
    bad_rows: bool = True,
) -> dict:
    """Write `<out_dir>/registry/` and `<out_dir>/inbox/<dataset>/…`; return a summary.

    The summary is `{"out_dir", "registry_dir", "seed", "scale", "period_starts", "months",
    "bodies_added", "pages_added", "datasets": {dataset: {"files": [path relative to the inbox],
    "rows": int}}}`.
    `datasets` also lists the registry's `expert_scores` (as `../registry/expert_scores.csv`).
    Files of the same names are overwritten; other files in out_dir are left alone. The summary
    is also written, without its paths, to `<out_dir>/generated.json`.
    """
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    first = first_period_start or default_first_period_start(weeks)
    if first.weekday() != 4:
        raise ValueError(
            f"first_period_start must be a Friday (reporting weeks start on Friday), "
            f"got {first.isoformat()} ({first.strftime('%A')})"
        )
    out_dir = Path(out_dir)
    shutil.copytree(registry_dir, out_dir / "registry", dirs_exist_ok=True)
    inbox = out_dir / "inbox"
    periods = [first + timedelta(weeks=w) for w in range(weeks)]
    n_mentions = max(1, round(MENTIONS_PER_WEEK_AT_SCALE_1 * scale))
    if n_mentions >= SPECIAL_ID_BASE:
        raise ValueError(f"scale {scale} is too large (at most 49)")
    months = covered_months(periods)
    n_incidents = max(MIN_INCIDENTS_PER_MONTH, round(INCIDENTS_PER_MONTH_AT_SCALE_1 * scale))
    datasets: dict[str, dict] = {}

    def add(name: str, files: list[tuple[str, int]]) -> None:
        entry = datasets.setdefault(name, {"files": [], "rows": 0})
        for rel, rows in files:
            entry["files"].append(rel)
            entry["rows"] += rows

    tmp = out_dir / TMP_DIR
    tmp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(tmp)})
    try:
        _setup(con, seed, out_dir / "registry", periods)
        pages_added = _add_pages(con, out_dir / "registry", round(PAGES_AT_SCALE_1 * scale), tmp)
        bodies_added = _add_bodies(con, out_dir / "registry")
        _create_page_tables(con)
        for ps in periods:
            for name, files in _write_week(con, inbox, tmp, ps, n_mentions, bad_rows).items():
                add(name, files)
        _create_incidents(con, months, n_incidents, as_of=periods[-1] + timedelta(days=7))
        for month in months:
            add("incidents", _write_month(con, inbox, month, bad_rows))
        add("expert_scores", [_write_expert_scores(con, out_dir / "registry", months)])
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    summary = {
        "out_dir": str(out_dir),
        "registry_dir": str(out_dir / "registry"),
        "seed": seed,
        "scale": scale,
        "period_starts": [p.isoformat() for p in periods],
        "months": [m.strftime("%Y-%m") for m in months],
        "bodies_added": bodies_added,
        "pages_added": pages_added,
        "datasets": datasets,
    }
    # without its paths, so that the same seed and scale write the same bytes anywhere
    portable = {k: v for k, v in summary.items() if k not in ("out_dir", "registry_dir")}
    (out_dir / SUMMARY_FILE).write_text(json.dumps(portable, indent=2))
    return summary


def covered_months(periods: list[date]) -> list[date]:
    """First days of the calendar months that the weeks' days fall in, in order."""
    first, last = periods[0], periods[-1] + timedelta(days=6)
    months, m = [], first.replace(day=1)
    while m <= last:
        months.append(m)
        m = (m + timedelta(days=32)).replace(day=1)
    return months


# ---------------------------------------------------------------- set-up


def _ordinal(ps: date) -> int:
    return (ps - EPOCH_FRIDAY).days // 7




def _pick(words: list[str], index_sql: str) -> str:
    """SQL picking one of the constant words; index_sql has `{n}` for the word count."""
    items = ", ".join(literal(w) for w in words)
    return f"list_element([{items}], 1 + ({index_sql.format(n=len(words))})::INTEGER)"


def _template_index(kind: str, lang_col: str, index_sql: str) -> str:
    """SQL for a random template index of `kind` in the row's language."""
    n_ru, n_kk = len(TEMPLATES[(kind, "ru")]), len(TEMPLATES[(kind, "kk")])
    return (f"CASE {lang_col} WHEN 'kk' THEN {index_sql.format(n=n_kk)} "
            f"ELSE {index_sql.format(n=n_ru)} END")


def _setup(con: duckdb.DuckDBPyConnection, seed: int, registry: Path, periods: list[date]) -> None:
    con.execute("SET TimeZone = 'Asia/Almaty'")
    _create_macros(con, int(seed))
    _load_registry(con, registry)
    _create_constants(con)
    # The previous week is needed too: its mentions are re-exported in the first week's file.
    all_ps = [periods[0] - timedelta(weeks=1), *periods]
    _create_region_tables(con, all_ps)


def _create_macros(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    con.execute(f"""
        -- hash-based pseudo-randomness: deterministic and independent of threads
        -- (n as UBIGINT: a UBIGINT % BIGINT column goes through HUGEINT, 100 times slower)
        CREATE MACRO rn(a, b, salt, n) AS (hash({seed}, a, b, salt) % n::UBIGINT)::BIGINT;
        CREATE MACRO ru(a, b, salt) AS (hash({seed}, a, b, salt) % 1000000007)::DOUBLE / 1000000007;
        CREATE MACRO to_utc(ts) AS timezone('UTC', timezone('Asia/Almaty', ts));
        -- an Asia/Almaty wall-clock time written in one of the ISO-8601 shapes exports use
        CREATE MACRO iso(ts, v) AS CASE v
            WHEN 0 THEN strftime(ts, '%Y-%m-%dT%H:%M:%S')
            WHEN 1 THEN strftime(ts, '%Y-%m-%dT%H:%M:%S')
                        || printf('%+03d:00', date_diff('hour', to_utc(ts), ts))
            WHEN 2 THEN strftime(to_utc(ts), '%Y-%m-%dT%H:%M:%SZ')
            ELSE strftime(to_utc(ts), '%Y-%m-%dT%H:%M:%S.000Z') END;
        -- the same, when the UTC offset is known to be `off` hours (no ICU look-up: faster)
        CREATE MACRO iso_at(ts, v, off) AS CASE v
            WHEN 0 THEN strftime(ts, '%Y-%m-%dT%H:%M:%S')
            WHEN 1 THEN strftime(ts, '%Y-%m-%dT%H:%M:%S') || printf('%+03d:00', off)
            WHEN 2 THEN strftime(ts - to_hours(off), '%Y-%m-%dT%H:%M:%SZ')
            ELSE strftime(ts - to_hours(off), '%Y-%m-%dT%H:%M:%S.000Z') END;
    """)


def _fixed_offset(con: duckdb.DuckDBPyConnection, first: date, last: date) -> int | None:
    """Asia/Almaty's UTC offset in whole hours if it does not change from `first` to `last`."""
    offsets = con.execute("""
        SELECT DISTINCT date_diff('second', to_utc(t), t)
        FROM range(?::TIMESTAMP, ?::TIMESTAMP, INTERVAL 1 HOUR) r(t)""", [first, last]).fetchall()
    if len(offsets) == 1 and offsets[0][0] % 3600 == 0:
        return int(offsets[0][0]) // 3600
    return None


def _iso(ctx: dict, ts: str, v: str) -> str:
    """SQL writing the Almaty wall-clock time `ts` in ISO shape `v` (see the iso macro)."""
    off = ctx["utc_offset"]
    return f"iso({ts}, {v})" if off is None else f"iso_at({ts}, {v}, {off})"


def _load_registry(con: duckdb.DuckDBPyConnection, registry: Path) -> None:
    for name in ("entities", "populations", "aliases", "pages", "excluded_sources"):
        path = literal(str(registry / f"{name}.csv"))
        # entities keep their file order (_row): the rewritten entities.csv only grows at its end
        ordered = name == "entities"
        rename = "RENAME (ordinality AS _row)" if ordered else ""
        ordinality = "WITH ORDINALITY" if ordered else ""
        con.execute(f"""CREATE TABLE reg_{name} AS
            SELECT * {rename} FROM read_csv({path}, header = true, all_varchar = true)
            {ordinality}""")
    for column in ("name_kk", "parent_id", "body_group", "valid_from", "valid_to"):
        con.execute(f"ALTER TABLE reg_entities ADD COLUMN IF NOT EXISTS {column} VARCHAR")


def _create_constants(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE templates (kind VARCHAR, lang VARCHAR, idx INTEGER, tpl VARCHAR)")
    con.executemany(
        "INSERT INTO templates VALUES (?, ?, ?, ?)",
        [(k, lang, i, t) for (k, lang), ts in TEMPLATES.items() for i, t in enumerate(ts)],
    )
    con.execute("""CREATE TABLE excluded AS
        SELECT platform, source_id, row_number() OVER (ORDER BY platform, source_id) - 1 AS k,
               row_number() OVER (PARTITION BY platform ORDER BY source_id) - 1 AS kp
        FROM reg_excluded_sources;
        CREATE TABLE non_regions AS
        SELECT entity_id, row_number() OVER (ORDER BY entity_id) - 1 AS k
        FROM reg_entities
        -- bodies (ministries, services) are not places a mention could be about
        WHERE (level <> 'region' OR entity_id LIKE '%-%') AND level <> 'body';
    """)


def _create_region_tables(con: duckdb.DuckDBPyConnection, all_ps: list[date]) -> None:
    """Per week: active regions, a Zipf-by-population bucket map, and their aliases."""
    ps_list = ", ".join(f"DATE '{p.isoformat()}'" for p in all_ps)
    con.execute(f"""
        CREATE TABLE weeks AS SELECT unnest([{ps_list}]) AS ps;
        CREATE TABLE week_regions AS
        WITH reg AS (
            SELECT w.ps, e.entity_id FROM weeks w, reg_entities e
            WHERE e.level = 'region'
              AND (e.valid_from IS NULL OR e.valid_from::DATE < w.ps + 7)
              AND (e.valid_to IS NULL OR e.valid_to::DATE >= w.ps)),
        pop AS (
            SELECT r.ps, r.entity_id,
                   coalesce(arg_max(p.population::BIGINT, p.population_date::DATE)
                                FILTER (WHERE p.population_date::DATE < r.ps + 7),
                            arg_min(p.population::BIGINT, p.population_date::DATE)) AS pop
            FROM reg r LEFT JOIN reg_populations p USING (entity_id) GROUP BY ALL),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY ps ORDER BY pop DESC, entity_id) AS rk
            FROM pop)
        -- Zipf weights by population rank (integers, so the cumulative sums are exact)
        SELECT ps, entity_id, rk, 1000000 // rk AS w,
               sum(1000000 // rk) OVER (PARTITION BY ps ORDER BY rk) AS cum_hi,
               sum(1000000 // rk) OVER (PARTITION BY ps) AS total
        FROM ranked;
        CREATE TABLE region_alias AS
        SELECT r.ps, a.entity_id, a.alias, coalesce(a.lang, 'ru') AS lang,
               row_number() OVER (PARTITION BY r.ps, a.entity_id ORDER BY a.alias) - 1 AS k,
               count(*) OVER (PARTITION BY r.ps, a.entity_id) AS n
        FROM week_regions r JOIN reg_aliases a USING (entity_id);
        CREATE TABLE region_bucket AS
        SELECT r.ps, b.b, r.entity_id,
               (SELECT max(n) FROM region_alias a
                WHERE a.ps = r.ps AND a.entity_id = r.entity_id) AS n_alias
        FROM week_regions r JOIN range(10000) b(b)
          ON ((2 * b.b + 1) * r.total) // 20000 >= r.cum_hi - r.w
         AND ((2 * b.b + 1) * r.total) // 20000 < r.cum_hi;
        -- one-word aliases («Алматы», «ВКО») are the ones glued to other words
        CREATE TABLE region_glue AS
        SELECT ps, entity_id, min(alias) AS alias FROM region_alias
        WHERE alias NOT LIKE '% %' GROUP BY ALL;
    """)


def _create_page_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Registry pages with their stable synthetic traits (audience size, habits)."""
    con.execute(f"""
        CREATE TABLE pages_x AS
        WITH p AS (
            -- generated pages are numbered after the registry's own
            SELECT *, row_number() OVER (ORDER BY gen_no NULLS FIRST, page_id) AS pidx,
                   row_number() OVER (PARTITION BY platform ORDER BY platform_page_id)
                       AS page_rank,
                   gen_no IS NOT NULL AS extra,
                   ru(page_id, 0, 'size') AS u_size, ru(page_id, 0, 'rate') AS u_rate
            FROM reg_pages)
        SELECT page_id, platform, platform_page_id, entity_id, page_kind, pidx, page_rank, extra,
               active_from::DATE AS active_from, active_to::DATE AS active_to,
               floor(pow(10, CASE page_kind
                   WHEN 'official_region' THEN 3.7 + 1.5 * u_size
                   WHEN 'official_district' THEN 2.7 + 1.4 * u_size
                   WHEN 'akim_personal' THEN 3.0 + 1.8 * u_size
                   ELSE 2.5 + 1.8 * u_size END))::BIGINT AS base_subs,
               0.0003 + 0.003 * u_rate AS daily_growth,
               1 + rn(page_id, 0, 'cadence', 3) AS cadence,
               rn(page_id, 0, 'phase', 3) AS phase,
               rn(page_id, 0, 'stale', 20) = 0 AS stale,
               rn(page_id, 0, 'bs', 3) = 0 AS has_bot_share,
               CASE WHEN page_kind = 'akim_personal' THEN rn(page_id, 0, 'eu', 10) <> 0
                    ELSE rn(page_id, 0, 'eu', 5) = 0 END AS has_engaged,
               platform = 'instagram' AND page_kind = 'akim_personal' AS insta_akim,
               CASE WHEN extra AND page_kind <> 'akim_personal'
                    THEN rn(page_id, 0, 'noint', 100) < {EXTRA_INTERACTIONS_PCT}
                    ELSE rn(page_id, 0, 'noint', 4) <> 0 END AS has_interactions,
               CASE WHEN extra THEN rn(page_id, 0, 'audit', 100) < {EXTRA_AUDITED_PCT}
                    ELSE rn(page_id, 0, 'audit', 2) = 0 END AS audited,
               rn(page_id, 0, 'aphase', 30) AS audit_phase
        FROM p;
        -- one insta-akim page only has an audit older than the 90-day window
        CREATE TABLE old_audit_page AS
        SELECT page_id FROM pages_x WHERE insta_akim AND NOT audited AND NOT extra
        ORDER BY hash(page_id) LIMIT 1;
    """)


def _create_posts(con: duckdb.DuckDBPyConnection, pss: list[date]) -> None:
    """Posts of every page in the weeks (final counters; captures take fractions)."""
    ps_list = ", ".join(f"DATE '{p.isoformat()}'" for p in pss)
    con.execute(f"""
        CREATE OR REPLACE TABLE posts AS
        WITH wk AS (SELECT ps, (ps - DATE '2020-01-03') // 7 AS ord
                    FROM (SELECT unnest([{ps_list}]) AS ps)),
        n AS (
            SELECT w.ps, w.ord, p.*,
                   CASE WHEN rn(p.page_id, w.ord, 'silent', 12) = 0 THEN 0
                        -- generated institutions' pages post about daily
                        WHEN p.extra AND p.page_kind = 'other'
                            THEN 3 + rn(p.page_id, w.ord, 'np', 11)
                        ELSE CASE p.page_kind
                            WHEN 'official_region' THEN 4 + rn(p.page_id, w.ord, 'np', 12)
                            WHEN 'official_district' THEN 2 + rn(p.page_id, w.ord, 'np', 7)
                            WHEN 'akim_personal' THEN 3 + rn(p.page_id, w.ord, 'np', 8)
                            ELSE 1 + rn(p.page_id, w.ord, 'np', 4) END END AS n_posts
            FROM wk w, pages_x p),
        post AS (
            SELECT n.*, k, n.ord * 100 + k AS pkey,
                   n.ps::TIMESTAMP
                   + to_seconds(rn(n.page_id, n.ord * 100 + k, 'pub', 604800)) AS pub_ts
            FROM n JOIN range(16) t(k) ON k < n.n_posts),
        eng AS (
            SELECT *, floor(base_subs * (0.002 + 0.04 * pow(ru(page_id, pkey, 'lk'), 2)))::BIGINT
                      AS likes_f
            FROM post
            WHERE (active_from IS NULL OR pub_ts::DATE >= active_from)
              AND (active_to IS NULL OR pub_ts::DATE <= active_to))
        SELECT ps, ord, page_id, platform, platform_page_id, page_kind, pidx, page_rank, extra,
               insta_akim, has_interactions, k, pkey, pub_ts,
               CASE WHEN platform = 'instagram'
                    THEN 'C' || upper(substr(md5(page_id || ':' || pkey::VARCHAR), 1, 10))
                    ELSE (ord * 100000 + pidx * 100 + k)::VARCHAR END AS post_id,
               likes_f,
               floor(likes_f * (0.02 + 0.12 * ru(page_id, pkey, 'cm')))::BIGINT AS comments_f,
               CASE WHEN platform IN ('instagram', 'youtube') THEN NULL
                    ELSE floor(likes_f * (0.01 + 0.1 * ru(page_id, pkey, 'rp')))::BIGINT
                    END AS reposts_f,
               CASE WHEN platform IN ('ok', 'x') AND rn(page_id, pkey, 'vnull', 3) = 0 THEN NULL
                    ELSE likes_f * (6 + rn(page_id, pkey, 'vw', 30))
                         + rn(page_id, pkey, 'vw2', 1000) END AS views_f
        FROM eng;
    """)


# ---------------------------------------------------------------- per week


def _write_week(
    con: duckdb.DuckDBPyConnection, inbox: Path, tmp: Path, ps: date, n_mentions: int,
    bad_rows: bool
) -> dict[str, list[tuple[str, int]]]:
    # this week's posts and last week's (re-captured this week)
    _create_posts(con, [ps - timedelta(weeks=1), ps])
    ctx: dict[str, Any] = {
        "ps": f"DATE '{ps.isoformat()}'",
        "prev": f"DATE '{(ps - timedelta(weeks=1)).isoformat()}'",
        "ord": _ordinal(ps),
        "n": n_mentions,
        "n_authors": max(200, n_mentions * 2 // 5),
        "n_sources": max(80, n_mentions // 20),
        # (at most 39,003: their mention numbers stay below LATE_ID_BASE)
        "n_spam": 3 + min(n_mentions // MENTIONS_PER_SPAM_AUTHOR, 39_000),
        "export": f"(DATE '{(ps + timedelta(weeks=1)).isoformat()}'::TIMESTAMP"
                  f" + INTERVAL {EXPORT_HOURS} HOUR)",
    }
    ctx["n_non_regions"], ctx["n_excluded"] = first_row(con.execute(
        "SELECT (SELECT count(*) FROM non_regions), (SELECT count(*) FROM excluded)"))
    # every timestamp of the week's files lies in this range (stale snapshots, old audits)
    ctx["utc_offset"] = _fixed_offset(con, ps - timedelta(days=160), ps + timedelta(days=9))
    tag = ps.isoformat()
    files: dict[str, list[tuple[str, int]]] = {}
    files["mentions"] = [_write_mentions(con, inbox, tmp, f"mentions/{tag}_mentions.csv", ctx)]
    if bad_rows:
        files["mentions"].append(_copy(con, inbox, f"mentions/{tag}_mentions_late_export.csv",
                                       _late_export_sql(ctx), "csv"))
    files["page_snapshots"] = [_copy(con, inbox, f"page_snapshots/{tag}_page_snapshots.jsonl",
                                     _snapshots_sql(ctx), "jsonl")]
    posts_fmt = "json" if ctx["ord"] % 2 == 0 else "csv"
    files["page_posts"] = [_copy(con, inbox, f"page_posts/{tag}_page_posts.{posts_fmt}",
                                 _posts_sql(ctx), posts_fmt)]
    files["post_interactions"] = [_copy(con, inbox,
                                        f"post_interactions/{tag}_post_interactions.jsonl",
                                        _interactions_sql(ctx), "jsonl")]
    files["follower_audits"] = [_copy(con, inbox, f"follower_audits/{tag}_follower_audits.csv",
                                      _audits_sql(ctx), "csv")]
    return files


def _copy(con: duckdb.DuckDBPyConnection, inbox: Path, rel: str, sql: str, fmt: str
          ) -> tuple[str, int]:
    """COPY the query to inbox/rel; returns (rel, rows written)."""
    path = inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    return rel, _copy_to(con, path, sql, fmt)


def _copy_to(con: duckdb.DuckDBPyConnection, path: Path, sql: str, fmt: str,
             header: bool = True) -> int:
    """COPY the query to path; returns the rows written."""
    options = {
        "csv": f"FORMAT csv, HEADER {str(header).lower()}, DELIMITER ','",
        "jsonl": "FORMAT json",
        "json": "FORMAT json, ARRAY true",
    }[fmt]
    rows = con.execute(f"COPY ({sql}) TO {literal(str(path))} ({options})").fetchone()
    return int(rows[0]) if rows else 0


# ---------------------------------------------------------------- mentions


def _mention_ts_sql(ps: str, o: str) -> str:
    """When bulk mention i of the week starting `ps` (ordinal `o`, a BIGINT) was published:
    mostly inside the week, a few within an hour before or after it."""
    return f"""CASE WHEN rn({o}, i, 'outside', 1000) < 3
                    THEN {ps}::TIMESTAMP - to_seconds(1 + rn({o}, i, 'before', 3600))
                    WHEN rn({o}, i, 'outside', 1000) < 6
                    THEN ({ps} + 7)::TIMESTAMP + to_seconds(rn({o}, i, 'after', 3600))
                    ELSE {ps}::TIMESTAMP + to_seconds(rn({o}, i, 'ts', 604800)) END"""


def _mentions_base_sql(ps: str, ord_: int | str, source: str, ctx: dict) -> str:
    """Bulk mentions of one week, typed, for the numbers i (BIGINT) that the relation `source`
    lists (e.g. `range(0, 10) t(i)`); `section` orders the file."""
    o = f"({ord_})::BIGINT"
    return f"""
    WITH r AS (
        SELECT i, {ps} AS ps, {o} AS ord,
               rn({o}, i, 'kind', 1000) AS kind_r,
               rn({o}, i, 'var', 100) AS var_r,
               rn({o}, i, 'author', {ctx['n_authors']}) AS author_idx,
               rn({o}, i, 'src_mode', 100) AS src_r,
               {PLATFORM_CASE.format(r=f"rn({o}, i, 'platform', 100)")} AS platform0
        FROM {source}),
    regions AS (
        SELECT r.*, b1.entity_id AS e1, b2.entity_id AS e2,
               rn(r.ord, r.i, 'alias1', 1000003) % b1.n_alias AS k1,
               CASE WHEN b2.n_alias IS NOT NULL
                    THEN rn(r.ord, r.i, 'alias2', 1000003) % b2.n_alias END AS k2
        FROM r
        JOIN region_bucket b1 ON b1.ps = r.ps AND b1.b = rn(r.ord, r.i, 'region', 10000)
        -- a second region only where the text names one (kinds `two` and `direct`)
        LEFT JOIN region_bucket b2
          ON b2.ps = r.ps AND b2.b = CASE WHEN r.kind_r >= 700 AND r.kind_r < 870
                                          THEN rn(r.ord, r.i, 'region2', 10000) END),
    picks AS (
        SELECT g.*, a1.alias AS a1, a1.lang AS lang1, a2.alias AS a2, gl.alias AS glue1
        FROM regions g
        JOIN region_alias a1 ON a1.ps = g.ps AND a1.entity_id = g.e1 AND a1.k = g.k1
        LEFT JOIN region_alias a2 ON a2.ps = g.ps AND a2.entity_id = g.e2 AND a2.k = g.k2
        LEFT JOIN region_glue gl ON gl.ps = g.ps AND gl.entity_id = g.e1),
    shaped AS (
        SELECT p.*,
               CASE WHEN kind_r < 700 THEN 'one' WHEN kind_r < 780 THEN 'two'
                    WHEN kind_r < 870 THEN 'direct' WHEN kind_r < 880 THEN 'other_id'
                    ELSE 'generic' END AS mkind,
               -- how the alias is written: as is, lower, upper, with ё, glued to a word
               CASE WHEN var_r < 80 OR (var_r >= 95 AND glue1 IS NULL) THEN a1
                    WHEN var_r < 86 THEN lower(a1)
                    WHEN var_r < 90 THEN upper(a1)
                    WHEN var_r < 95 THEN replace(replace(a1, 'е', 'ё'), 'Е', 'Ё')
                    WHEN var_r < 98 THEN glue1 || {_pick(GLUE_SUFFIXES, "rn(ord, i, 'sfx', {n})")}
                    ELSE {_pick(GLUE_PREFIXES, "rn(ord, i, 'pfx', {n})")} || glue1
                    END AS a1_text
        FROM picks p),
    templated AS (
        -- the template the text is made of (generic: names no place)
        SELECT s.*,
               CASE WHEN mkind = 'generic' OR (mkind = 'direct' AND rn(ord, i, 'dtext', 2) = 0)
                        THEN 'generic'
                    WHEN mkind = 'two' THEN 'two' ELSE 'one' END AS tkind
        FROM shaped s),
    texted AS (
        SELECT s.*,
               CASE WHEN s.tkind = 'generic' THEN t.tpl
                    WHEN s.mkind = 'two' THEN replace(replace(t.tpl, '{{a}}', s.a1_text),
                                                      '{{b}}', s.a2)
                    -- a mention with entity_id set names another region: text is not searched
                    WHEN s.mkind = 'direct' THEN replace(t.tpl, '{{a}}', s.a2)
                    ELSE replace(t.tpl, '{{a}}', s.a1_text) END AS text,
               CASE WHEN s.mkind = 'direct' THEN s.e1
                    WHEN s.mkind = 'other_id' THEN nr.entity_id END AS entity_id
        FROM templated s
        JOIN templates t
          ON t.kind = s.tkind AND t.lang = s.lang1
         AND t.idx = CASE s.tkind
                 WHEN 'one' THEN {_template_index('one', 's.lang1', "rn(s.ord, s.i, 'tpl1', {n})")}
                 WHEN 'two' THEN {_template_index('two', 's.lang1', "rn(s.ord, s.i, 'tpl2', {n})")}
                 ELSE {_template_index('generic', 's.lang1', "rn(s.ord, s.i, 'tplg', {n})")} END
        -- another entity's id (kind `other_id`)
        LEFT JOIN non_regions nr
          ON nr.k = CASE WHEN s.mkind = 'other_id'
                         THEN rn(s.ord, s.i, 'other_id', {ctx['n_non_regions']}) END),
    sourced AS (
        SELECT t.*,
               CASE WHEN src_r >= 10 AND src_r < 15 THEN x.platform ELSE platform0 END
                   AS platform,
               CASE WHEN src_r < 10 THEN NULL
                    WHEN src_r < 15 THEN x.source_id
                    ELSE rn(ord, i, 'source', {ctx['n_sources']})::VARCHAR END AS src
        FROM texted t
        -- an excluded source (src_r 10..14)
        LEFT JOIN excluded x
          ON x.k = CASE WHEN src_r >= 10 AND src_r < 15
                        THEN rn(ord, i, 'excl', {ctx['n_excluded']}) END),
    authored AS (
        SELECT s.*,
               CASE WHEN rn(0, author_idx, 'atype', 100) < 80 THEN 'person'
                    WHEN rn(0, author_idx, 'atype', 100) < 86 THEN 'community'
                    WHEN rn(0, author_idx, 'atype', 100) < 91 THEN 'media'
                    WHEN rn(0, author_idx, 'atype', 100) < 94 THEN 'bot'
                    WHEN rn(0, author_idx, 'atype', 100) < 96 THEN 'government'
                    WHEN rn(0, author_idx, 'atype', 100) < 98 THEN 'corporate'
                    ELSE 'unknown' END AS author_type,
               -- regions differ in mood, so the sentiment indicator has something to rank
               rn(ord, i, 'sent', 100) AS sent_r,
               15 + rn(0, e1, 'mood', 25) AS pos_cut
        FROM sourced s)
    SELECT 0 AS section, i, ord, platform,
           (ord * 1000000000 + i)::VARCHAR AS mention_id,
           {_mention_ts_sql('ps', 'ord')} AS ts,
           rn(ord, i, 'tsfmt', 4) AS ts_fmt,
           (10000000 + author_idx)::VARCHAR AS author_id,
           author_type,
           CASE WHEN rn(ord, i, 'audnull', 100) >= 12
                THEN floor(pow(10, 1.3 + 3.7 * ru(0, author_idx, 'aud')))::BIGINT
                     + rn(ord, i, 'audj', 30) END AS author_audience,
           CASE WHEN src IS NULL THEN NULL
                WHEN src_r < 15 THEN src
                ELSE CASE platform
                    WHEN 'vk' THEN 'public' || (100000000 + src::BIGINT)::VARCHAR
                    WHEN 'ok' THEN 'group' || (70000050000000 + src::BIGINT)::VARCHAR
                    WHEN 'telegram' THEN 'chat_kz_' || src
                    WHEN 'instagram' THEN 'ig_public_' || src
                    WHEN 'facebook' THEN 'fb_group_' || src
                    WHEN 'x' THEN 'x_list_' || src
                    ELSE 'UCsrc' || lpad(src, 20, '0') END END AS source_id,
           text,
           CASE WHEN rn(ord, i, 'cnull', 100) < 4 OR rn(ord, i, 'lnull', 100) < 3 THEN NULL
                ELSE floor(pow(ru(ord, i, 'likes'), 3) * 400)::BIGINT END AS likes,
           CASE WHEN rn(ord, i, 'cnull', 100) < 4 OR rn(ord, i, 'mnull', 100) < 3 THEN NULL
                ELSE floor(pow(ru(ord, i, 'comments'), 3) * 50)::BIGINT END AS comments,
           CASE WHEN rn(ord, i, 'cnull', 100) < 4 OR rn(ord, i, 'rnull', 100) < 3 THEN NULL
                ELSE floor(pow(ru(ord, i, 'reposts'), 4) * 60)::BIGINT END AS reposts,
           CASE WHEN rn(ord, i, 'cnull', 100) < 4 OR rn(ord, i, 'vnull', 100) < 10 THEN NULL
                ELSE floor(pow(ru(ord, i, 'likes'), 3) * 400)::BIGINT
                     * (4 + rn(ord, i, 'views', 20)) + rn(ord, i, 'views2', 500) END AS views,
           CASE WHEN sent_r < pos_cut THEN 'positive' WHEN sent_r < pos_cut + 45 THEN 'neutral'
                ELSE 'negative' END AS sentiment,
           entity_id
    FROM authored
    """


def _specials_sql(ctx: dict) -> str:
    """Hand-shaped authors around the mass-sharer rule (>= 10 mentions in >= 10 sources)."""
    o, ns = ctx["ord"], ctx["n_sources"]
    return f"""
    WITH spec AS (
        -- role, author number, mentions; author ids are stable across weeks. Mention i is
        -- {SPECIAL_ID_BASE} + author_no * 100 + j: spam authors from the 100th on are numbered
        -- from 1100, clear of the edge authors (100..103) and the boundary rows (+50000).
        SELECT 'spam' AS role, k + CASE WHEN k >= 100 THEN 1000 ELSE 0 END AS author_no,
               12 + rn({o}, k, 'spam_m', 6) AS m
        FROM range({ctx['n_spam']}) t(k)
        UNION ALL SELECT 'edge_spam', 100, 10   -- 9 sources + one empty source = 10 values
        UNION ALL SELECT 'near_10_in_9', 101, 10
        UNION ALL SELECT 'near_9_in_9', 102, 9
        UNION ALL SELECT 'split', 103, 14),      -- 7 on vk + 7 on telegram: two authors
    rows AS (
        SELECT s.*, j, s.author_no * 100 + j AS sk,
               {PLATFORM_CASE.format(r="rn(0, s.author_no, 'spam_pf', 100)")} AS pf0,
               rn({o}, s.author_no, 'sbase', {ns}) AS sbase
        FROM spec s JOIN range(20) t(j) ON j < s.m),
    placed AS (
        SELECT r.*,
               CASE WHEN role = 'split' THEN CASE WHEN j < 7 THEN 'vk' ELSE 'telegram' END
                    ELSE pf0 END AS platform,
               CASE WHEN role IN ('spam', 'edge_spam') AND j = 0 THEN NULL
                    WHEN role = 'spam' AND j = 1 THEN 'excluded'
                    WHEN role = 'near_10_in_9' THEN ((sbase + least(j, 8)) % {ns})::VARCHAR
                    ELSE ((sbase + j) % {ns})::VARCHAR END AS src
        FROM rows r),
    regioned AS (
        SELECT p.*, a.alias, b.entity_id AS e1
        FROM placed p
        JOIN region_bucket b ON b.ps = {ctx['ps']} AND b.b = rn(0, p.author_no, 'spam_reg', 10000)
        JOIN region_alias a ON a.ps = {ctx['ps']} AND a.entity_id = b.entity_id
             AND a.k = rn(0, p.author_no, 'spam_alias', 1000003) % a.n)
    SELECT 0 AS section, {SPECIAL_ID_BASE} + sk AS i, {o}::BIGINT AS ord, g.platform,
           ({o}::BIGINT * 1000000000 + {SPECIAL_ID_BASE} + sk)::VARCHAR AS mention_id,
           {ctx['ps']}::TIMESTAMP + to_seconds(3600 + rn({o}, sk, 'sts', 590000)) AS ts,
           rn({o}, sk, 'tsfmt', 4) AS ts_fmt,
           (900000000 + author_no)::VARCHAR AS author_id,
           'person' AS author_type,
           500 + rn(0, author_no, 'saud', 3000) AS author_audience,
           CASE WHEN src IS NULL THEN NULL
                WHEN src = 'excluded' THEN coalesce(x.source_id, 'chat_kz_0')
                ELSE CASE g.platform
                    WHEN 'vk' THEN 'public' || (100000000 + src::BIGINT)::VARCHAR
                    WHEN 'ok' THEN 'group' || (70000050000000 + src::BIGINT)::VARCHAR
                    WHEN 'telegram' THEN 'chat_kz_' || src
                    WHEN 'instagram' THEN 'ig_public_' || src
                    WHEN 'facebook' THEN 'fb_group_' || src
                    WHEN 'x' THEN 'x_list_' || src
                    ELSE 'UCsrc' || lpad(src, 20, '0') END END AS source_id,
           replace(t.tpl, '{{a}}', g.alias) AS text,
           rn({o}, sk, 'slk', 15) AS likes, rn({o}, sk, 'scm', 3) AS comments,
           rn({o}, sk, 'srp', 8) AS reposts, 40 + rn({o}, sk, 'svw', 400) AS views,
           CASE WHEN rn(0, author_no, 'ssent', 3) = 0 THEN 'negative' ELSE 'positive' END
               AS sentiment,
           NULL AS entity_id
    FROM regioned g
    LEFT JOIN excluded x ON x.platform = g.platform AND x.kp = 0
    JOIN templates t ON t.kind = 'spam' AND t.lang = 'ru'
         AND t.idx = rn(0, g.author_no, 'stpl', 2)
    """


def _format_mentions(body: str, ctx: dict) -> str:
    """Final column order and file order (copies with changed counts come last). The rows are
    sorted before the text columns are formatted (less to sort; a SELECT keeps the order)."""
    return f"""
    SELECT platform, mention_id, {_iso(ctx, 'ts', 'ts_fmt')} AS published_at,
           CASE WHEN rn(ord, i, 'nourl', 50) = 0 THEN NULL ELSE CASE platform
               WHEN 'instagram' THEN 'https://instagram.com/p/' || mention_id
               WHEN 'telegram' THEN 'https://t.me/' || coalesce(source_id, 'u' || author_id)
                                     || '/' || (i % 100000)::VARCHAR
               WHEN 'vk' THEN 'https://vk.com/wall' || author_id || '_' || (i % 100000)::VARCHAR
               WHEN 'facebook' THEN 'https://www.facebook.com/' || author_id || '/posts/'
                                    || mention_id
               WHEN 'x' THEN 'https://x.com/i/status/' || mention_id
               WHEN 'youtube' THEN 'https://www.youtube.com/watch?v='
                                   || substr(md5(mention_id), 1, 11)
               ELSE 'https://ok.ru/profile/' || author_id || '/statuses/' || mention_id END
               END AS url,
           text, author_id, author_type, author_audience, source_id,
           likes, comments, reposts, views, sentiment, entity_id
    FROM (SELECT * FROM ({body}) ORDER BY section, ts, mention_id) m
    """


def _time_slices(rows: int) -> list[tuple[int | None, int | None]]:
    """Slices [lo, hi) of seconds since the week's start, in time order, holding about `rows`
    mentions together: before the week, the week cut into equal parts, after the week."""
    n = max(1, -(-rows // MENTIONS_PER_SLICE))
    cuts = [-(-7 * 86400 * k // n) for k in range(n + 1)]
    return [(None, 0), *zip(cuts, cuts[1:], strict=False), (7 * 86400, None)]


def _write_mentions(con: duckdb.DuckDBPyConnection, inbox: Path, tmp: Path, rel: str,
                    ctx: dict) -> tuple[str, int]:
    """The week's mentions export, in file order: section 0 (this week's mentions, last week's
    re-exported, the hand-shaped rows) by time, then section 1 (copies with grown counters) by
    time. Sorting ~20 million wide rows at once takes far more memory than the generator may
    use, so each section is written in time slices (sorted one by one, then concatenated):
    the bytes are those of one `ORDER BY section, ts, mention_id`, whatever the slicing."""
    ps, prev = ctx["ps"], ctx["prev"]
    o, o_prev = f"({ctx['ord']})::BIGINT", f"({ctx['ord'] - 1})::BIGINT"

    def secs(ts: str) -> str:
        return f"date_diff('second', {ps}::TIMESTAMP, {ts})"

    def within(col: str, lo: int | None, hi: int | None) -> str:
        return " AND ".join([f"{col} >= {lo}"] * (lo is not None)
                            + [f"{col} < {hi}"] * (hi is not None))

    # When each bulk mention was published (seconds since the week's start): part 0 this
    # week's, part 1 last week's re-exported. A slice's rows are computed when it is written.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE mention_keys AS
        SELECT 0::UTINYINT AS part, i::INTEGER AS i, rn({o}, i, 'dup', 100) = 0 AS dup,
               {secs(_mention_ts_sql(ps, o))}::INTEGER AS t
        FROM range({ctx['n']}) t(i)
        UNION ALL
        SELECT 1, i, false, {secs(_mention_ts_sql(prev, o_prev))}
        FROM range({ctx['n']}) t(i) WHERE rn({o_prev}, i, 'redo', 100) = 0
    """)

    def keys(part: int, lo: int | None, hi: int | None, dup: bool = False) -> str:
        where = f"part = {part} AND {within('t', lo, hi)}" + (" AND dup" if dup else "")
        return f"(SELECT i::BIGINT AS i FROM mention_keys WHERE {where}) t"

    def section_0(lo: int | None, hi: int | None) -> str:
        return f"""
        SELECT * FROM ({_mentions_base_sql(ps, ctx['ord'], keys(0, lo, hi), ctx)})
        UNION ALL
        -- last week's mentions re-exported this week with updated counters
        SELECT * REPLACE (coalesce(likes, 0) + 2 + rn(ord, i, 'rl', 60) AS likes,
                          coalesce(comments, 0) + rn(ord, i, 'rc', 5) AS comments)
        FROM ({_mentions_base_sql(prev, ctx['ord'] - 1, keys(1, lo, hi), ctx)})
        UNION ALL
        SELECT * FROM ({_specials_sql(ctx)}) WHERE {within(secs('ts'), lo, hi)}
        UNION ALL
        -- exact week boundaries: start is inside (written in UTC), end is outside
        SELECT * FROM (
            SELECT * REPLACE (
                0 AS section, i + {SPECIAL_ID_BASE} + 50000 AS i,
                (ord * 1000000000 + i + {SPECIAL_ID_BASE} + 50000)::VARCHAR AS mention_id,
                CASE i WHEN 0 THEN {ps}::TIMESTAMP
                       WHEN 1 THEN ({ps} + 7)::TIMESTAMP
                       ELSE ({ps} + 7)::TIMESTAMP - INTERVAL 1 SECOND END AS ts,
                CASE i WHEN 0 THEN 2 WHEN 1 THEN 1 ELSE 0 END AS ts_fmt)
            FROM ({_mentions_base_sql(ps, ctx['ord'], 'range(0, 3) t(i)', ctx)}))
        WHERE {within(secs('ts'), lo, hi)}
        """

    def section_1(lo: int | None, hi: int | None) -> str:
        # the same mention exported again later in the file, its counters grown (latest wins)
        return f"""
        SELECT * REPLACE (1 AS section, coalesce(likes, 0) + 1 + rn(ord, i, 'dl', 40) AS likes,
                          coalesce(views, 0) + 10 + rn(ord, i, 'dv', 400) AS views)
        FROM ({_mentions_base_sql(ps, ctx['ord'], keys(0, lo, hi, dup=True), ctx)})
        """

    bodies = ([section_0(lo, hi) for lo, hi in _time_slices(ctx["n"])]
              + [section_1(lo, hi) for lo, hi in _time_slices(ctx["n"] // 100)])
    path = inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with path.open("wb", buffering=0) as out:
        for n, body in enumerate(bodies):
            part = tmp / "mentions.part.csv"
            rows += _copy_to(con, part, _format_mentions(body, ctx), "csv", header=n == 0)
            _append(out, part)
    con.execute("DROP TABLE mention_keys")
    return rel, rows


def _append(out: BinaryIO, part: Path) -> None:
    """Move the bytes of `part` to the end of `out` (unbuffered; in the kernel if it can)."""
    start = out.seek(0, os.SEEK_END)
    with part.open("rb") as src:
        size, done = os.fstat(src.fileno()).st_size, 0
        try:
            while done < size:
                sent = os.copy_file_range(src.fileno(), out.fileno(), size - done)
                if not sent:
                    break
                done += sent
        except (AttributeError, OSError):  # not Linux, or not between these file systems
            done = -1
        if done != size:
            out.truncate(start)
            out.seek(start)
            shutil.copyfileobj(src, out, 1 << 20)
    part.unlink()


def _late_export_sql(ctx: dict) -> str:
    """A small later export: good rows plus rows that break the contract (for quarantine)."""
    good = _mentions_base_sql(ctx["ps"], ctx["ord"],
                              f"range({LATE_ID_BASE}, {LATE_ID_BASE + 20}) t(i)", ctx)
    bad = _mentions_base_sql(ctx["ps"], ctx["ord"],
                             f"range({LATE_ID_BASE + 100}, {LATE_ID_BASE + 106}) t(i)", ctx)
    body = f"SELECT * FROM ({good}) UNION ALL SELECT * FROM ({bad})"
    year = f"strftime({ctx['ps']}, '%Y')"
    return f"""
    WITH f AS ({_format_mentions(body, ctx)}),
    v AS (SELECT f.*, mention_id::BIGINT % 1000000000 - {LATE_ID_BASE + 100} AS bad_no,
                 hash(mention_id) AS h FROM f)
    SELECT CASE bad_no WHEN 5 THEN 'tiktok' ELSE platform END AS platform,
           mention_id,
           CASE bad_no WHEN 0 THEN 'вчера в 14:30'
                       WHEN 4 THEN {year} || '-02-30T10:00:00'
                       ELSE published_at END AS published_at,
           url, text,
           CASE bad_no WHEN 2 THEN NULL ELSE author_id END AS author_id,
           author_type, author_audience::VARCHAR AS author_audience, source_id,
           CASE bad_no WHEN 3 THEN '1.2K' ELSE likes::VARCHAR END AS likes,
           comments::VARCHAR AS comments, reposts::VARCHAR AS reposts, views::VARCHAR AS views,
           CASE bad_no WHEN 1 THEN 'позитив' ELSE sentiment END AS sentiment,
           entity_id
    FROM v ORDER BY h, mention_id
    """


# ---------------------------------------------------------------- pages


def _snapshots_sql(ctx: dict) -> str:
    o = ctx["ord"]
    return f"""
    WITH days AS (
        SELECT p.*, ({ctx['ps']} + d::INTEGER) AS day, {o} * 7 + d AS day_abs
        FROM pages_x p, range(7) t(d)),
    regular AS (
        SELECT *, day::TIMESTAMP + to_seconds(3600 * (6 + rn(page_id, day_abs, 'hr', 14))
                                             + rn(page_id, day_abs, 'sec', 3600)) AS ts
        FROM days
        WHERE NOT stale AND (day_abs + phase) % cadence = 0
        UNION ALL
        -- a capture just after the week closed (inside the capture grace)
        SELECT *, ({ctx['ps']} + 7)::TIMESTAMP
                  + to_seconds(3600 * (1 + rn(page_id, {o}, 'late', 8))) AS ts
        FROM days WHERE NOT stale AND day_abs = {o} * 7 AND rn(page_id, {o}, 'latecap', 4) = 0
        UNION ALL
        -- stale pages: only a last-known snapshot from more than 28 days ago
        SELECT *, ({ctx['ps']} - 40)::TIMESTAMP + to_seconds(rn(page_id, 0, 'old', 86400)) AS ts
        FROM days WHERE stale AND day_abs = {o} * 7),
    active AS (
        SELECT * FROM regular
        WHERE (active_from IS NULL OR ts::DATE >= active_from)
          AND (active_to IS NULL OR ts::DATE <= active_to)),
    valued AS (
        SELECT *, 0 AS section,
               greatest(10, base_subs + floor(base_subs * daily_growth
                             * (epoch(ts) - epoch(TIMESTAMP '2026-01-01')) / 86400)::BIGINT)
                   AS subscribers,
               CASE WHEN has_bot_share
                    THEN round(0.03 + 0.3 * ru(page_id, 0, 'bsv') + 0.01 * ru(page_id, epoch(ts),
                               'bsj'), 4) END AS bot_share
        FROM active),
    fixes AS (
        -- the week's last snapshot sent again with a corrected count (later line wins)
        SELECT * REPLACE (1 AS section, subscribers + 3 + rn(page_id, {o}, 'fixv', 20)
                          AS subscribers)
        FROM valued
        WHERE rn(page_id, {o}, 'fix', 12) = 0
        QUALIFY row_number() OVER (PARTITION BY page_id ORDER BY ts DESC) = 1)
    SELECT platform, platform_page_id,
           {_iso(ctx, 'ts', "rn(page_id, epoch(ts), 'tsfmt', 4)")} AS captured_at,
           subscribers, bot_share,
           CASE WHEN has_engaged
                THEN floor(subscribers * (0.01 + 0.07 * ru(page_id, epoch(ts), 'eu')))::BIGINT
                END AS engaged_users_7d
    FROM (SELECT * FROM valued UNION ALL SELECT * FROM fixes)
    ORDER BY section, ts, platform, platform_page_id
    """


def _captures_cte(ctx: dict) -> str:
    """Post captures in this week's export: this week's posts twice (after a few hours, after
    a day or two, unless that is past the export), last week's posts once more this week
    (inside or after the capture grace)."""
    o = ctx["ord"]
    return f"""
    caps AS (
        SELECT p.*, 1 AS c, pub_ts + to_seconds(3600 + rn(page_id, pkey, 'c1', 5 * 3600))
                   AS cap_ts, 0.35 + 0.2 * ru(page_id, pkey, 'f1') AS frac
        FROM posts p WHERE p.ord = {o}
        UNION ALL
        SELECT p.*, 2, pub_ts + to_seconds(18 * 3600 + rn(page_id, pkey, 'c2', 42 * 3600)),
               0.75 + 0.15 * ru(page_id, pkey, 'f2')
        FROM posts p WHERE p.ord = {o}
        UNION ALL
        SELECT p.*, 3, {ctx['ps']}::TIMESTAMP + to_seconds(rn(page_id, pkey, 'c3', 72 * 3600)),
               1.0
        FROM posts p WHERE p.ord = {o} - 1)
    """


def _posts_sql(ctx: dict) -> str:
    return f"""
    WITH {_captures_cte(ctx)}
    SELECT platform, platform_page_id, post_id,
           {_iso(ctx, 'pub_ts', "rn(page_id, pkey, 'pubfmt', 4)")} AS published_at,
           {_iso(ctx, 'cap_ts', "rn(page_id, pkey * 10 + c, 'capfmt', 4)")}
               AS captured_at,
           floor(likes_f * frac)::BIGINT AS likes,
           floor(comments_f * frac)::BIGINT AS comments,
           floor(reposts_f * frac)::BIGINT AS reposts,
           floor(views_f * frac)::BIGINT AS views
    FROM caps WHERE cap_ts <= {ctx['export']}
    ORDER BY cap_ts, platform, platform_page_id, post_id
    """


def _interactions_sql(ctx: dict) -> str:
    """Likes/comments by users on insta-akim posts of this and last week, up to the export."""
    o = ctx["ord"]
    return f"""
    WITH p AS (
        -- generated pages (rural and town akims) export more of their likes and comments
        SELECT *, least(likes_f, CASE WHEN extra
                                      THEN {EXTRA_LIKES_BASE}
                                           + rn(page_id, pkey, 'nl', {EXTRA_LIKES_SPREAD})
                                      ELSE 10 + rn(page_id, pkey, 'nl', 60) END) AS n_like,
                  least(comments_f, CASE WHEN extra THEN 5 + rn(page_id, pkey, 'nc', 60)
                                         ELSE 1 + rn(page_id, pkey, 'nc', 12) END) AS n_comment,
                  CASE WHEN extra THEN 1000 + rn(page_id, 0, 'pool', 9000)
                       ELSE 40 + rn(page_id, 0, 'pool', 160) END AS pool
        FROM posts
        WHERE (insta_akim OR (extra AND platform = 'instagram')) AND has_interactions
          AND ord IN ({o}, {o} - 1)),
    x AS (
        SELECT p.*, j, CASE WHEN j < n_like THEN 'like' ELSE 'comment' END AS kind,
               pub_ts + to_seconds(floor(pow(ru(page_id, pkey * 1000 + j, 'at'), 2)
                                         * 5 * 86400)::BIGINT) AS at_ts
        FROM p JOIN range({EXTRA_LIKES_BASE + EXTRA_LIKES_SPREAD + 64}) t(j)
          ON j < n_like + n_comment)
    SELECT platform, platform_page_id, post_id, user_id, kind, {_iso(ctx, 'at_ts', 'v')} AS at
    FROM (
        SELECT platform, platform_page_id, post_id,
               (7000000000 + pidx * 100000 + rn(page_id, pkey * 1000 + j, 'user', pool))
                   ::VARCHAR AS user_id,
               kind, at_ts, rn(page_id, pkey * 1000 + j, 'atfmt', 4) AS v
        FROM x
        WHERE at_ts <= {ctx['export']}
          AND (ord = {o} OR at_ts >= {ctx['ps']}::TIMESTAMP - INTERVAL 1 DAY)
        -- sorted before `at` is formatted; all are Instagram pages, so page_rank sorts them
        -- like platform_page_id (and faster)
        ORDER BY at_ts, page_rank, post_id, j)
    """


def _audits_sql(ctx: dict) -> str:
    """The two latest monthly audits of audited insta-akim pages (re-sent every week), and
    one page whose only audit is older than the 90-day window."""
    export_day = ctx["ord"] * 7 + 7
    return f"""
    WITH a AS (
        SELECT p.*, {export_day} - ({export_day} + audit_phase) % 30 - 30 * t.n AS audit_day
        FROM pages_x p, range(2) t(n) WHERE insta_akim AND audited
        UNION ALL
        SELECT p.*, {export_day} - 120 - audit_phase
        FROM pages_x p JOIN old_audit_page USING (page_id)),
    s AS (
        SELECT a.*, j, audit_day * 1000 + j AS fk,
               DATE '2020-01-03' + audit_day::INTEGER AS audit_date,
               rn(page_id, audit_day, 'bot_pct', 36) + 5 AS bot_pct
        FROM a JOIN range(200) t(j) ON j < 50 + rn(a.page_id, a.audit_day, 'size', 151)),
    f AS (
        SELECT s.*, audit_date::TIMESTAMP + to_seconds(3 * 3600 + rn(page_id, audit_day, 'min',
                                                                     3600)) AS cap_ts,
               rn(page_id, fk, 'isbot', 100) < bot_pct AS bot,
               rn(page_id, fk, 'f1', 100) AS r1, rn(page_id, fk, 'f2', 100) AS r2,
               rn(page_id, fk, 'f3', 100) AS r3, rn(page_id, fk, 'f4', 100) AS r4,
               rn(page_id, fk, 'f5', 100) AS r5
        FROM s),
    feat AS (
        SELECT f.*,
               CASE WHEN bot THEN r1 >= 80 ELSE r1 < 92 END AS has_avatar,
               CASE WHEN bot THEN CASE WHEN r2 < 85 THEN 0 ELSE r2 % 5 END
                    ELSE CASE WHEN r2 < 95 THEN 1 + rn(page_id, fk, 'posts', 400) ELSE 0 END
                    END AS posts_count,
               CASE WHEN bot THEN rn(page_id, fk, 'fol', 40)
                    ELSE 20 + rn(page_id, fk, 'fol', 3000) END AS followers_count,
               CASE WHEN bot THEN CASE WHEN r3 < 70 THEN 1501 + rn(page_id, fk, 'fing', 6000)
                                       ELSE 100 + rn(page_id, fk, 'fing', 1400) END
                    ELSE 30 + rn(page_id, fk, 'fing', 1200) END AS following_count,
               {_pick(LATIN_FIRST, "rn(page_id, fk, 'fn', {n})")}
                   || CASE WHEN r5 < 50 THEN '.' ELSE '_' END
                   || {_pick(LATIN_LAST, "rn(page_id, fk, 'ln', {n})")} AS handle
        FROM f),
    edged AS (
        -- the first four followers of every audit sit on the bot-rule edges:
        -- 0: following exactly 1500 (no signal) + no avatar -> 1 signal, not a bot
        -- 1: username ending in 5 digits (no signal) + 0 posts -> 1 signal, not a bot
        -- 2: 0 followers and 0 following (no ratio signal) + no avatar -> not a bot
        -- 3: 0 followers, 3 following (ratio signal) + no avatar -> 2 signals, a bot
        SELECT * REPLACE (
            CASE WHEN j < 4 THEN j = 1 ELSE has_avatar END AS has_avatar,
            CASE WHEN j = 1 THEN 0 WHEN j < 4 THEN 5 + r2 ELSE posts_count END AS posts_count,
            CASE WHEN j IN (0, 1) THEN 500 + rn(page_id, fk, 'efol', 2000)
                 WHEN j < 4 THEN 0 ELSE followers_count END AS followers_count,
            CASE j WHEN 0 THEN 1500 WHEN 1 THEN 100 + rn(page_id, fk, 'efing', 400)
                   WHEN 2 THEN 0 WHEN 3 THEN 3 ELSE following_count END AS following_count,
            CASE WHEN j = 1 THEN handle || (10000 + rn(page_id, fk, 'd5', 90000))::VARCHAR
                 WHEN j < 4 THEN handle
                 WHEN bot AND r4 < 60
                    THEN 'user' || lpad(rn(page_id, fk, 'digits', 100000000)::VARCHAR, 8, '0')
                 WHEN r4 < 30 THEN handle || rn(page_id, fk, 'd2', 100)::VARCHAR
                 ELSE handle END AS handle)
        FROM feat)
    SELECT platform, platform_page_id,
           {_iso(ctx, 'cap_ts', "rn(page_id, fk, 'tsfmt', 4)")} AS captured_at,
           (5000000000 + pidx * 1000000 + (audit_day * 7 + j * 13) % 1000000)::VARCHAR
               AS follower_id,
           handle AS username,
           -- a missing feature is no signal; edge rows keep all of theirs
           CASE WHEN j < 4 OR rn(page_id, fk, 'n1', 100) >= 4 THEN has_avatar END AS has_avatar,
           CASE WHEN j < 4 OR rn(page_id, fk, 'n2', 100) >= 4 THEN posts_count END AS posts_count,
           CASE WHEN j < 4 OR rn(page_id, fk, 'n3', 100) >= 4 THEN followers_count END
               AS followers_count,
           CASE WHEN j < 4 OR rn(page_id, fk, 'n4', 100) >= 4 THEN following_count END
               AS following_count
    FROM edged
    ORDER BY cap_ts, platform_page_id, j
    """


# ---------------------------------------------------------------- registry additions


def _slug(text: str) -> str:
    """Latin handle of a Kazakh or Russian name: `Қарасай ауданы` -> `qarasay_audany`."""
    latin = "".join(TRANSLIT.get(c, c) for c in text.lower())
    return "_".join(w for w in re.split(r"[^a-z0-9]+", latin) if w)


def _short_slug(text: str) -> str:
    """The first two words of the handle (`білім бөлімі` -> `bilim_bolimi`)."""
    return "_".join(_slug(text).split("_")[:2])


def _kk_genitive(name: str) -> str:
    """`Абай ауданы` -> `Абай ауданының` (names ending in -ы/-і; others are left as they are)."""
    return name + {"ы": "ның", "і": "нің"}.get(name[-1:], "")


def _apportion(total: int, weights: list[int]) -> list[int]:
    """Split total into integers proportional to weights (largest remainders, ties in order)."""
    if not weights:
        return []
    if sum(weights) <= 0:
        weights = [1] * len(weights)
    w = sum(weights)
    shares = [total * x // w for x in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % w), i))
    for i in by_remainder[:total - sum(shares)]:
        shares[i] += 1
    return shares


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join(literal(x) for x in items) + "]"


def _add_pages(con: duckdb.DuckDBPyConnection, registry: Path, n_pages: int, tmp: Path) -> int:
    """Add pages of the registry's current regions and municipalities until it holds about
    n_pages (nothing when it already holds as many); return how many were added.

    Added, in this order: official pages of units on platforms where the registry lists none
    (OFFICIAL_PCT % of the added pages, while there are such), personal Instagram pages of
    rural and town akims under their district or city (AKIM_PCT %, spread evenly), and pages of
    institutions (the rest, split by population; a region's at a tenth of its population): the
    akimat's departments, rural districts' akim offices, then schools and kindergartens (a
    region: colleges). Page ids continue the registry's `p-<platform>-<nnn>` numbering; native
    ids are unique per platform. The rows are appended to pages.csv, whose own lines keep
    their bytes; table reg_pages gets them with `gen_no` (NULL for the registry's own pages).
    """
    con.execute("ALTER TABLE reg_pages ADD COLUMN gen_no INTEGER")
    n_extra = n_pages - first_row(con.execute("SELECT count(*) FROM reg_pages"))[0]
    if n_extra <= 0:
        return 0
    owners = con.execute("""
        WITH pop AS (
            SELECT entity_id, arg_max(population::BIGINT, population_date::DATE) AS pop
            FROM reg_populations GROUP BY ALL),
        cur AS (SELECT * FROM reg_entities WHERE valid_to IS NULL)
        SELECT e.entity_id, e.level, coalesce(e.name_kk, e.name_ru),
               coalesce(par.name_kk, par.name_ru, e.entity_id), coalesce(p.pop, 0)
        FROM cur e LEFT JOIN pop p USING (entity_id)
        LEFT JOIN cur par ON par.entity_id = e.parent_id
        WHERE e.level IN ('region', 'district', 'city', 'city_district')
        QUALIFY row_number() OVER (PARTITION BY e.entity_id ORDER BY e._row DESC) = 1
        ORDER BY e.entity_id""").fetchall()
    if not owners:
        return 0
    name_count: dict[str, int] = {}
    for _, _, name, _, _ in owners:
        name_count[name] = name_count.get(name, 0) + 1
    values = []
    for k, (entity_id, level, name, parent, _) in enumerate(owners):
        slug = _slug(name) or f"unit_{entity_id}"
        if name_count[name] > 1:  # e.g. two districts named Абай ауданы
            slug += "_" + (_slug(parent.split()[0]) or entity_id)
        values.append(f"({k}, {literal(entity_id)}, {literal(level)}, {literal(name)}, "
                      f"{literal(slug)}, {literal(_kk_genitive(name) + ' әкімдігі')})")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE page_owners AS
        SELECT * FROM (VALUES {', '.join(values)})
            v(k, entity_id, level, name, slug, official_name);
        CREATE OR REPLACE TEMP TABLE gen_official AS
        SELECT 0 AS grp, o.entity_id, 0 AS r, p.platform,
               CASE WHEN o.level = 'region' THEN 'official_region' ELSE 'official_district' END
                   AS page_kind,
               o.slug || '_akimdigi' AS handle, o.official_name AS owner_name
        FROM page_owners o, (SELECT unnest({_sql_list(list(PLATFORMS))}) AS platform) p
        WHERE NOT EXISTS (
            SELECT 1 FROM reg_pages g
            WHERE g.entity_id = o.entity_id AND g.platform = p.platform
              AND g.page_kind IN ('official_region', 'official_district'))
        ORDER BY rn(o.entity_id, p.platform, 'official', 1000000007), o.entity_id, p.platform
        LIMIT {round(n_extra * OFFICIAL_PCT / 100)};
    """)
    n_official = first_row(con.execute("SELECT count(*) FROM gen_official"))[0]
    municipal = [owner[1] != "region" for owner in owners]
    n_akim = round(n_extra * AKIM_PCT / 100) if any(municipal) else 0
    akims = _apportion(n_akim, [int(m) for m in municipal])
    others = _apportion(n_extra - n_official - n_akim,
                        [pop if m else pop // 10 for (*_, pop), m in zip(owners, municipal,
                                                                          strict=True)])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE page_counts AS
        SELECT unnest(range({len(owners)})) AS k, unnest({akims}) AS n_akim,
               unnest({others}) AS n_other
    """)
    first, last = _sql_list(AKIM_FIRST), _sql_list(AKIM_LAST)
    first_lat = _sql_list([_slug(x) for x in AKIM_FIRST])
    last_lat = _sql_list([_slug(x) for x in AKIM_LAST])
    female = _sql_list([x for x in AKIM_FIRST if x in AKIM_FEMALE])
    n_rd, n_md, n_v = len(REGION_DEPTS), len(MUNI_DEPTS), len(VILLAGES)
    platform = _weighted_case("rn(o.entity_id, r, 'platform', 100)", OTHER_PLATFORMS)
    # r-th institution of a unit: departments first, then (districts) rural districts, then
    # schools and kindergartens in turn (a region: colleges)
    q = f"(r - {n_md} - CASE WHEN o.level = 'district' THEN {n_v} ELSE 0 END)"
    region_depts, muni_depts, villages = (_sql_list(x) for x in (REGION_DEPTS, MUNI_DEPTS,
                                                                  VILLAGES))
    region_slugs = _sql_list([_short_slug(d) for d in REGION_DEPTS])
    muni_slugs = _sql_list([_short_slug(d) for d in MUNI_DEPTS])
    village_slugs = _sql_list([_slug(v) for v in VILLAGES])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gen_akim AS
        WITH a AS (
            SELECT o.*, r,
                   1 + rn(o.entity_id, r, 'first', {len(AKIM_FIRST)})::INTEGER AS fi,
                   1 + rn(o.entity_id, r, 'last', {len(AKIM_LAST)})::INTEGER AS li,
                   {_pick(AKIM_HANDLE_ENDS, "rn(o.entity_id, r, 'hend', {n})")} AS hend
            FROM page_owners o JOIN page_counts c USING (k)
            JOIN range({max(akims, default=0)}) t(r) ON r < c.n_akim),
        f AS (SELECT *, list_contains({female}, list_element({first}, fi)) AS fem FROM a)
        SELECT 1 AS grp, entity_id, r, 'instagram' AS platform, 'akim_personal' AS page_kind,
               list_element({first_lat}, fi) || '.' || list_element({last_lat}, li)
                   || CASE WHEN fem THEN 'a' ELSE '' END || hend AS handle,
               list_element({first}, fi) || ' ' || list_element({last}, li)
                   || CASE WHEN fem THEN 'а' ELSE '' END AS owner_name
        FROM f;
        CREATE OR REPLACE TEMP TABLE gen_other AS
        SELECT 2 AS grp, o.entity_id, r, {platform} AS platform, 'other' AS page_kind,
               CASE WHEN o.level = 'region' AND r < {n_rd}
                        THEN o.slug || '_' || list_element({region_slugs}, r + 1)
                    WHEN o.level = 'region' THEN o.slug || '_kolledzh_' || (r - {n_rd} + 1)
                    WHEN r < {n_md} THEN o.slug || '_' || list_element({muni_slugs}, r + 1)
                    WHEN o.level = 'district' AND r < {n_md + n_v}
                        THEN o.slug || '_' || list_element({village_slugs}, r - {n_md} + 1)
                             || '_ao'
                    WHEN {q} % 2 = 0 THEN o.slug || '_mektep_' || ({q} // 2 + 1)
                    ELSE o.slug || '_balabaqsha_' || ({q} // 2 + 1) END AS handle,
               CASE WHEN o.level = 'region' AND r < {n_rd}
                        THEN o.name || ' ' || list_element({region_depts}, r + 1)
                    WHEN o.level = 'region'
                        THEN o.name || ' №' || (r - {n_rd} + 1) || ' колледжі'
                    WHEN r < {n_md} THEN o.name || ' ' || list_element({muni_depts}, r + 1)
                    WHEN o.level = 'district' AND r < {n_md + n_v}
                        THEN list_element({villages}, r - {n_md} + 1)
                             || ' ауылдық округі әкімінің аппараты'
                    WHEN {q} % 2 = 0
                        THEN o.name || ' №' || ({q} // 2 + 1) || ' жалпы білім беретін мектебі'
                    ELSE o.name || ' №' || ({q} // 2 + 1) || ' балабақшасы' END AS owner_name
        FROM page_owners o JOIN page_counts c USING (k)
        JOIN range({max(others, default=0)}) t(r) ON r < c.n_other;
    """)
    columns = [c for (c, *_) in con.execute("DESCRIBE reg_pages").fetchall() if c != "gen_no"]
    con.execute("""
        CREATE OR REPLACE TEMP TABLE gen_pages AS
        WITH a AS (
            SELECT *, row_number() OVER (ORDER BY grp, entity_id, r, platform) AS gen_no
            FROM (SELECT * FROM gen_official UNION ALL SELECT * FROM gen_akim
                  UNION ALL SELECT * FROM gen_other)),
        -- a handle taken already (by the registry or an earlier page) gets a number
        d AS (
            SELECT a.*, row_number() OVER (PARTITION BY a.platform, a.handle ORDER BY a.gen_no)
                        - 1 + (g.page_id IS NOT NULL)::INTEGER AS taken,
                   row_number() OVER (PARTITION BY a.platform ORDER BY a.gen_no) AS seq
            FROM a LEFT JOIN reg_pages g
              ON g.platform = a.platform AND g.platform_page_id = a.handle),
        h AS (
            SELECT d.* REPLACE (CASE WHEN taken = 0 THEN handle
                                     ELSE handle || '_' || (taken + 1) END AS handle),
                   coalesce(m.max_no, 0) AS max_no
            FROM d LEFT JOIN (
                SELECT platform,
                       max(try_cast(regexp_extract(page_id, '^p-[a-z]+-([0-9]+)$', 1) AS INTEGER))
                           AS max_no
                FROM reg_pages GROUP BY platform) m USING (platform)),
        ids AS (
            SELECT *, CASE platform
                WHEN 'facebook' THEN (100090000000000 + seq * 1000 + rn(handle, 0, 'id', 1000))
                                     ::VARCHAR
                WHEN 'vk' THEN (700000000 + seq * 100 + rn(handle, 0, 'id', 100))::VARCHAR
                WHEN 'ok' THEN (71000000000000 + seq * 1000 + rn(handle, 0, 'id', 1000))::VARCHAR
                WHEN 'youtube' THEN 'UC' || translate(substr(to_base64(unhex(md5(
                    rn(handle, 0, 'id', 1000000007) || ':' || handle))), 1, 22), '+/', '-_')
                ELSE handle END AS native_id
            FROM h)
        SELECT gen_no, 'p-' || platform || '-' || printf('%03d', max_no + seq) AS page_id,
               platform, native_id AS platform_page_id, entity_id, page_kind,
               CASE platform
                   WHEN 'instagram' THEN 'https://instagram.com/' || handle
                   WHEN 'telegram' THEN 'https://t.me/' || handle
                   WHEN 'x' THEN 'https://x.com/' || handle
                   WHEN 'facebook' THEN 'https://www.facebook.com/' || handle
                   WHEN 'vk' THEN 'https://vk.com/' || handle
                   WHEN 'ok' THEN 'https://ok.ru/group/' || native_id
                   ELSE 'https://www.youtube.com/@' || handle END AS url,
               owner_name, NULL::VARCHAR AS active_from, NULL::VARCHAR AS active_to
        FROM ids
    """)
    # the columns pages.csv has (in its order); a column the generator does not fill stays empty
    filled = [c for c in columns if c in {"page_id", "platform", "platform_page_id", "entity_id",
                                          "page_kind", "url", "owner_name"}]
    con.execute(f"""INSERT INTO reg_pages BY NAME
                    SELECT gen_no, {', '.join(filled)} FROM gen_pages""")
    clashes = con.execute("""
        SELECT count(*) - count(DISTINCT (platform, platform_page_id)),
               count(*) - count(DISTINCT page_id) FROM reg_pages""").fetchone()
    if clashes != (0, 0):  # a registry whose ids happen to look like the generated ones
        raise ValueError(f"generated pages clash with the registry's ({clashes})")
    # the registry's own lines keep their bytes: the added ones are appended
    part = tmp / "pages.part.csv"
    quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    _copy_to(con, part, f"SELECT {quoted} FROM reg_pages WHERE gen_no IS NOT NULL ORDER BY gen_no",
             "csv", header=False)
    with (registry / "pages.csv").open("rb+", buffering=0) as out:
        if out.seek(0, os.SEEK_END):
            out.seek(-1, os.SEEK_END)
            if out.read(1) != b"\n":
                out.write(b"\n")
        _append(out, part)
    return first_row(con.execute("SELECT count(*) FROM gen_pages"))[0]


def _add_bodies(con: duckdb.DuckDBPyConnection, registry: Path) -> int:
    """Add the responsible bodies (level `body`) the registry lacks; return how many.

    entities.csv is rewritten only when something is added, with the original rows first and
    in their order (values are the same, quoting may be DuckDB's).
    """
    con.execute("""CREATE TABLE body_defs (k INTEGER, entity_id VARCHAR, body_group VARCHAR,
                   name_ru VARCHAR, name_kk VARCHAR, parent_id VARCHAR, specialty VARCHAR)""")
    con.executemany("INSERT INTO body_defs VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(k, *body) for k, body in enumerate(BODIES)])
    added = first_row(con.execute("""
        INSERT INTO reg_entities BY NAME
        SELECT entity_id, 'body' AS level, name_ru, name_kk,
               -- a registry without the parent region still gets the service, unattached
               CASE WHEN parent_id IN (SELECT entity_id FROM reg_entities) THEN parent_id END
                   AS parent_id,
               body_group, 1000000000 + k AS _row
        FROM body_defs WHERE entity_id NOT IN (SELECT entity_id FROM reg_entities)
        """))[0]
    if added:
        path = literal(str(registry / "entities.csv"))
        con.execute(f"""COPY (SELECT * EXCLUDE (_row) FROM reg_entities ORDER BY _row)
                        TO {path} (FORMAT csv, HEADER true, DELIMITER ',')""")
    return int(added)


def _write_expert_scores(con: duckdb.DuckDBPyConnection, registry: Path, months: list[date]
                         ) -> tuple[str, int]:
    """Expert scores (1–10, one decimal) of the years touched, for the `people` rating
    (regions active that year) and `insta_akims` (instagram akim pages active that year); two
    units of each are left without a score, as a commission does not score everyone."""
    path = registry / "expert_scores.csv"
    years = ", ".join(str(y) for y in sorted({m.year for m in months}))
    sql = f"""
    WITH years AS (SELECT unnest([{years}]) AS y),
    units AS (
        -- DISTINCT: a renamed region has several lines
        SELECT DISTINCT y, 'people' AS rating, entity_id AS unit_id
        FROM years, reg_entities
        WHERE level = 'region'
          AND (valid_from IS NULL OR valid_from::DATE <= make_date(y, 12, 31))
          AND (valid_to IS NULL OR valid_to::DATE >= make_date(y, 1, 1))
        UNION ALL
        SELECT DISTINCT y, 'insta_akims', page_id
        FROM years, reg_pages
        WHERE platform = 'instagram' AND page_kind = 'akim_personal'
          AND (active_from IS NULL OR active_from::DATE <= make_date(y, 12, 31))
          AND (active_to IS NULL OR active_to::DATE >= make_date(y, 1, 1))),
    ranked AS (
        SELECT *, row_number() OVER (PARTITION BY y, rating
                                     ORDER BY rn(y, unit_id, 'omit', 1000000007), unit_id) AS o
        FROM units)
    SELECT y AS year, rating, unit_id,
           printf('%.1f', 1.5 + 8.5 * pow(ru(y, unit_id, 'expert'), 0.6)) AS score
    FROM ranked WHERE o > 2
    ORDER BY year, rating, unit_id
    """
    rows = con.execute(f"COPY ({sql}) TO {literal(str(path))} (FORMAT csv, HEADER true)").fetchone()
    return "../registry/expert_scores.csv", int(rows[0]) if rows else 0


# ---------------------------------------------------------------- incidents


def _weighted_case(r_sql: str, items: list[tuple[str, int]]) -> str:
    """SQL CASE picking a word by integer weights (summing to 100) from r_sql in [0, 100)."""
    whens, cum = [], 0
    for word, weight in items[:-1]:
        cum += weight
        whens.append(f"WHEN {r_sql} < {cum} THEN {literal(word)}")
    return f"CASE {' '.join(whens)} ELSE {literal(items[-1][0])} END"


def _create_incidents(con: duckdb.DuckDBPyConnection, months: list[date], n: int,
                      as_of: date) -> None:
    """Table incidents_all: every incident of the months (one row each) as exported at local
    midnight `as_of` (when the last generated week closed: a month still running then is
    exported up to that day), plus three rows (kind 'bad') that the late file spoils."""
    ms_list = ", ".join(f"DATE '{m.isoformat()}'" for m in months)
    municipal = ", ".join(literal(level) for level in MUNICIPAL_LEVELS)
    shares = " ".join(f"WHEN {literal(g)} THEN {w}" for g, w in GROUP_SHARES.items())
    con.execute(f"""
        CREATE TABLE inc_months AS
        SELECT ms, me, year(ms) * 12 + month(ms) - 1 AS mo, date_diff('day', ms, me) AS days
        FROM (SELECT ms, least((ms + INTERVAL 1 MONTH)::DATE, DATE '{as_of.isoformat()}') AS me
              FROM (SELECT unnest([{ms_list}]) AS ms));
        -- municipalities and bodies active in the month, with their latest population
        CREATE TABLE inc_units AS
        WITH pop AS (
            SELECT entity_id, arg_max(population::BIGINT, population_date::DATE) AS pop
            FROM reg_populations GROUP BY ALL)
        SELECT m.ms, e.entity_id, e.level, e.parent_id,
               coalesce(nullif(trim(e.body_group), ''), 'municipal') AS grp, p.pop, d.specialty
        FROM inc_months m
        JOIN reg_entities e
          ON (e.valid_from IS NULL OR e.valid_from::DATE < m.me)
         AND (e.valid_to IS NULL OR e.valid_to::DATE >= m.ms)
        LEFT JOIN pop p USING (entity_id)
        LEFT JOIN body_defs d USING (entity_id)
        WHERE e.level IN ({municipal}, 'body')
        -- a renamed unit has several lines: the month's latest one
        QUALIFY row_number() OVER (PARTITION BY m.ms, e.entity_id
                                   ORDER BY e.valid_from::DATE DESC NULLS LAST) = 1;
        CREATE TABLE inc_munis AS
        SELECT ms, entity_id, parent_id,
               row_number() OVER (PARTITION BY ms ORDER BY pop DESC NULLS LAST, entity_id) - 1
                   AS k,
               row_number() OVER (PARTITION BY ms, parent_id ORDER BY entity_id) - 1 AS kp,
               count(*) OVER (PARTITION BY ms) AS n_all,
               count(*) OVER (PARTITION BY ms, parent_id) AS n_kids
        FROM inc_units WHERE level IN ({municipal});
        -- Per group, the smallest body gets exactly one incident (below the rated minimum) and
        -- the next one exactly two; the rest share the bulk, skewed towards the biggest.
        CREATE TABLE inc_bodies AS
        WITH g AS (
            SELECT *, count(*) OVER (PARTITION BY ms, grp) AS n_grp,
                   row_number() OVER (PARTITION BY ms, grp
                                      ORDER BY pop NULLS FIRST,
                                               rn(entity_id, 0, 'role', 1000000007), entity_id)
                       AS small_rank
            FROM inc_units),
        r AS (
            SELECT *, CASE WHEN n_grp >= 4 AND small_rank = 1 THEN 'one'
                           WHEN n_grp >= 4 AND small_rank = 2 THEN 'two'
                           ELSE 'bulk' END AS role
            FROM g)
        SELECT r.ms, r.entity_id AS body_id, r.level, r.parent_id, r.grp, r.specialty, r.role,
               dense_rank() OVER (PARTITION BY r.ms ORDER BY r.grp) - 1 AS gk,
               row_number() OVER (PARTITION BY r.ms, r.grp, r.role
                                  ORDER BY r.pop DESC NULLS LAST,
                                           rn(r.entity_id, 0, 'size', 1000000007), r.entity_id)
                   - 1 AS k,
               coalesce(kids.n_kids, 0) AS n_kids
        FROM r
        LEFT JOIN (SELECT DISTINCT ms, parent_id, n_kids FROM inc_munis) kids
          ON kids.ms = r.ms AND kids.parent_id = r.parent_id;
        CREATE TABLE inc_groups AS
        WITH g AS (
            SELECT ms, grp, CASE grp {shares} ELSE 5 END AS w,
                   count(*) FILTER (WHERE role = 'bulk') AS nb
            FROM inc_bodies GROUP BY ALL)
        SELECT *, sum(w) OVER (PARTITION BY ms ORDER BY grp) AS cum_hi,
               sum(w) OVER (PARTITION BY ms) AS total
        FROM g;
        -- one slot per unit of weight, so a draw finds its group by an equality join
        CREATE TABLE inc_group_slots AS
        SELECT g.ms, s.r, g.grp, g.nb, g.total
        FROM inc_groups g JOIN range(10000) s(r) ON s.r >= g.cum_hi - g.w AND s.r < g.cum_hi;
    """)
    con.execute(f"CREATE TABLE incidents_all AS {_incidents_sql(n, municipal)}")
    # An export cannot hold what came after it: responses, resolutions and feedback later
    # than the export instant are not known yet.
    con.execute(
        """
        CREATE OR REPLACE TABLE incidents_all AS
        SELECT * REPLACE (
            CASE WHEN first_response < $as_of THEN first_response END AS first_response,
            CASE WHEN resolved_at < $as_of THEN resolved_at END AS resolved_at,
            CASE WHEN first_response < $as_of THEN answer_quality END AS answer_quality,
            CASE WHEN first_response < $as_of AND coalesce(resolved_at < $as_of, true)
                 THEN satisfaction END AS satisfaction)
        FROM incidents_all
        """,
        {"as_of": as_of},
    )


def _incidents_sql(n: int, municipal: str) -> str:
    late, bad = LATE_EVERY, INCIDENT_BAD_BASE
    category = _weighted_case("rn(mo, i, 'cat', 100)", CATEGORIES)
    return f"""
    WITH months AS (
        SELECT m.*, coalesce((SELECT max(n_all) FROM inc_munis u WHERE u.ms = m.ms), 0)
                        AS n_munis,
               (SELECT max(total) FROM inc_groups g WHERE g.ms = m.ms) AS total
        FROM inc_months m),
    draws AS (
        SELECT m.*, t.i, CASE WHEN t.i >= {bad} THEN 'bad' ELSE 'bulk' END AS kind
        FROM months m,
             (SELECT range AS i FROM range({n})
              UNION ALL SELECT range FROM range({bad}, {bad + 3})) t),
    grouped AS (
        SELECT d.* EXCLUDE (total), g.grp, g.nb
        FROM draws d JOIN inc_group_slots g
          ON g.ms = d.ms AND g.r = rn(d.mo, d.i, 'grp', d.total)),
    bulk AS (
        SELECT g.* EXCLUDE (nb), 0 AS j, b.body_id, b.level, b.parent_id, b.specialty, b.n_kids
        FROM grouped g JOIN inc_bodies b
          ON b.ms = g.ms AND b.grp = g.grp AND b.role = 'bulk'
         AND b.k = floor(g.nb * pow(ru(g.mo, g.i, 'body'), 2.2))::BIGINT),
    spec AS (
        SELECT m.* EXCLUDE (total),
               {INCIDENT_SPECIAL_BASE} + b.gk * 10 + CASE b.role WHEN 'one' THEN 0
                                                         ELSE 1 + t.j END AS i,
               b.role AS kind, b.grp, t.j, b.body_id, b.level, b.parent_id, b.specialty, b.n_kids
        FROM months m JOIN inc_bodies b ON b.ms = m.ms AND b.role IN ('one', 'two')
        JOIN range(2) t(j) ON t.j < CASE b.role WHEN 'one' THEN 1 ELSE 2 END),
    drawn AS (SELECT * FROM bulk UNION ALL BY NAME SELECT * FROM spec),
    timed AS (
        SELECT d.*,
               'INC-' || strftime(d.ms, '%Y%m') || '-' || lpad(d.i::VARCHAR, 8, '0')
                   AS incident_id,
               -- the exactly-two body: the month's first and last second (of its export)
               CASE WHEN d.kind = 'two' AND d.j = 0 THEN d.ms::TIMESTAMP
                    WHEN d.kind = 'two' THEN d.me::TIMESTAMP - INTERVAL 1 SECOND
                    ELSE d.ms::TIMESTAMP + to_seconds(86400 * rn(d.mo, d.i, 'day', d.days)
                         + CASE WHEN rn(d.mo, d.i, 'night', 100) < 12
                                THEN rn(d.mo, d.i, 'sod', 86400)
                                ELSE 8 * 3600 + rn(d.mo, d.i, 'sod', 14 * 3600) END) END
                   AS detected,
               d.kind = 'bulk' AND d.i % {late} = 7 AS late,
               -- late-corrected, edge and bad rows always have a response
               (d.kind = 'bulk' AND (d.i % {late} = 7 OR d.i IN (3, 4))) OR d.kind = 'bad'
                   OR rn(d.mo, d.i, 'noresp', 1000)
                      >= 50 + floor(150 * ru(d.body_id, 0, 'slack')) AS responded,
               -- the 8-hour deadline: exactly 8:00:00 is in time, 8:00:01 overdue
               CASE WHEN d.kind = 'bulk' AND d.i = 3 THEN 8 * 3600
                    WHEN d.kind = 'bulk' AND d.i = 4 THEN 8 * 3600 + 1
                    ELSE 60 + floor(pow(ru(d.mo, d.i, 'delay'), 2.5) * 3600
                                    * (2 + 28 * pow(ru(d.body_id, 0, 'speed'), 1.5)))::BIGINT
                    END AS delay_s,
               mk.entity_id AS kid_muni, mg.entity_id AS any_muni
        FROM drawn d
        LEFT JOIN inc_munis mk
          ON mk.ms = d.ms AND mk.parent_id = d.parent_id
         AND mk.kp = rn(d.mo, d.i, 'kid', greatest(d.n_kids, 1))
        LEFT JOIN inc_munis mg
          ON mg.ms = d.ms AND mg.k = floor(d.n_munis * pow(ru(d.mo, d.i, 'muni'), 1.8))::BIGINT),
    answered AS (
        SELECT *,
               CASE WHEN responded THEN detected + to_seconds(delay_s) END AS first_response,
               responded AND rn(mo, i, 'res', 100) < 55 + floor(35 * ru(body_id, 0, 'fix'))
                   AS resolved,
               CASE WHEN rn(mo, i, 'nopf', 100) < 4 THEN NULL
                    ELSE {PLATFORM_CASE.format(r="rn(mo, i, 'platform', 100)")} END AS platform
        FROM timed)
    SELECT ms, kind, i, late, incident_id, detected, body_id, platform,
           CASE WHEN platform IS NULL OR rn(mo, i, 'nourl', 100) < 8 THEN NULL
                ELSE CASE platform
                    WHEN 'instagram' THEN 'https://instagram.com/p/C'
                                          || upper(substr(md5(incident_id), 1, 10))
                    WHEN 'telegram' THEN 'https://t.me/chat_kz_' || rn(mo, i, 'chat', 500)::VARCHAR
                                         || '/' || (1 + i % 100000)::VARCHAR
                    WHEN 'facebook' THEN 'https://www.facebook.com/permalink.php?story_fbid='
                                         || (100000000000000 + rn(mo, i, 'fb', 900000000000000))
                                            ::VARCHAR
                    WHEN 'vk' THEN 'https://vk.com/wall-'
                                   || (100000000 + rn(mo, i, 'vk', 90000000))::VARCHAR
                                   || '_' || (1 + i % 100000)::VARCHAR
                    WHEN 'ok' THEN 'https://ok.ru/group/'
                                   || (70000050000000 + rn(mo, i, 'ok', 100000))::VARCHAR
                                   || '/topic/' || (150000000000000 + i)::VARCHAR
                    WHEN 'x' THEN 'https://x.com/i/status/'
                                  || (1850000000000000000 + rn(mo, i, 'x', 100000000000000000))
                                     ::VARCHAR
                    ELSE 'https://www.youtube.com/watch?v=' || substr(md5(incident_id), 1, 11)
                    END END AS url,
           CASE WHEN specialty IS NOT NULL AND rn(mo, i, 'own', 100) < 70 THEN specialty
                ELSE {category} END AS category,
           CASE WHEN rn(mo, i, 'nomuni', 100) < 5 THEN NULL
                WHEN grp = 'municipal' AND level IN ({municipal}) THEN body_id
                WHEN n_kids > 0 THEN kid_muni
                ELSE any_muni END AS municipality_id,
           first_response,
           CASE WHEN resolved
                THEN first_response + to_seconds(1800 + floor(pow(ru(mo, i, 'fixt'), 2)
                                                             * 7 * 86400)::BIGINT) END
               AS resolved_at,
           CASE WHEN responded AND rn(mo, i, 'noaq', 100) >= 20
                THEN least(5, 1 + floor(5 * (0.55 * ru(body_id, 0, 'qual')
                                             + 0.45 * ru(mo, i, 'aq'))))::INTEGER END
               AS answer_quality,
           CASE WHEN resolved THEN
                    CASE WHEN rn(mo, i, 'nofb', 100) < 30 THEN NULL
                         WHEN ru(mo, i, 'happy') < 0.4 + 0.55 * ru(body_id, 0, 'happy')
                             THEN 'satisfied'
                         ELSE 'unsatisfied' END
                -- feedback on an unresolved incident: not part of the satisfied share
                WHEN responded AND rn(mo, i, 'openfb', 100) < 5 THEN 'unsatisfied' END
               AS satisfaction
    FROM answered
    """


def _write_month(con: duckdb.DuckDBPyConnection, inbox: Path, month: date, bad_rows: bool
                 ) -> list[tuple[str, int]]:
    """The month's export (late-corrected incidents still unanswered) and the late file (their
    answered copies, then the rows to quarantine)."""
    tag, ms, fmt = month.strftime("%Y-%m"), f"DATE '{month.isoformat()}'", literal(TS_FORMAT)
    main = f"""
    SELECT incident_id, strftime(detected, {fmt}) AS detected_at, body_id, platform, url,
           category, municipality_id,
           CASE WHEN NOT late THEN strftime(first_response, {fmt}) END AS first_response_at,
           CASE WHEN NOT late THEN strftime(resolved_at, {fmt}) END AS resolved_at,
           CASE WHEN NOT late THEN answer_quality END AS answer_quality,
           CASE WHEN NOT late THEN satisfaction END AS satisfaction
    FROM incidents_all WHERE ms = {ms} AND kind <> 'bad'
    ORDER BY detected, incident_id
    """
    bad_no = f"i - {INCIDENT_BAD_BASE}"
    late = f"""
    SELECT incident_id, strftime(detected, {fmt}) AS detected_at,
           CASE WHEN kind = 'bad' AND {bad_no} = 2 THEN 'unknown-body' ELSE body_id END
               AS body_id,
           platform, url, category, municipality_id,
           strftime(first_response, {fmt}) AS first_response_at,
           strftime(resolved_at, {fmt}) AS resolved_at,
           CASE WHEN kind = 'bad' AND {bad_no} = 0 THEN '7' ELSE answer_quality::VARCHAR END
               AS answer_quality,
           CASE WHEN kind = 'bad' AND {bad_no} = 1 THEN {literal(BAD_SATISFACTION)}
                ELSE satisfaction END AS satisfaction
    FROM incidents_all
    WHERE ms = {ms} AND (late OR (kind = 'bad' AND {str(bad_rows).lower()}))
    ORDER BY kind = 'bad', detected, incident_id
    """
    return [_copy(con, inbox, f"incidents/{tag}_incidents.csv", main, "csv"),
            _copy(con, inbox, f"incidents/{tag}_incidents_late.csv", late, "csv")]
