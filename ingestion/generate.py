"""Deterministic synthetic inbox (and registry copy) for demos and tests.

Every row is produced by DuckDB SQL from `range()` and `hash(seed, …)`, so the same arguments
give byte-identical files whatever the thread count. Per-row values are keyed by the week's
ordinal (weeks since 2020-01-03), not by its position in the run, so a week's files do not depend
on how many weeks are generated (except the copies carried over from the previous week).

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

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb

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
    "bodies_added", "datasets": {dataset: {"files": [path relative to the inbox], "rows": int}}}`.
    `datasets` also lists the registry's `expert_scores` (as `../registry/expert_scores.csv`).
    Files of the same names are overwritten; other files in out_dir are left alone.
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

    con = duckdb.connect()
    try:
        _setup(con, seed, out_dir / "registry", periods)
        bodies_added = _add_bodies(con, out_dir / "registry")
        for ps in periods:
            for name, files in _write_week(con, inbox, ps, n_mentions, bad_rows).items():
                add(name, files)
        _create_incidents(con, months, n_incidents, as_of=periods[-1] + timedelta(days=7))
        for month in months:
            add("incidents", _write_month(con, inbox, month, bad_rows))
        add("expert_scores", [_write_expert_scores(con, out_dir / "registry", months)])
    finally:
        con.close()
    return {
        "out_dir": str(out_dir),
        "registry_dir": str(out_dir / "registry"),
        "seed": seed,
        "scale": scale,
        "period_starts": [p.isoformat() for p in periods],
        "months": [m.strftime("%Y-%m") for m in months],
        "bodies_added": bodies_added,
        "datasets": datasets,
    }


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


def _lit(text: str) -> str:
    """SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _pick(words: list[str], index_sql: str) -> str:
    """SQL picking one of the constant words; index_sql has `{n}` for the word count."""
    items = ", ".join(_lit(w) for w in words)
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
    # The previous week is needed too: its posts are re-captured in the first week's files.
    all_ps = [periods[0] - timedelta(weeks=1), *periods]
    _create_region_tables(con, all_ps)
    _create_page_tables(con)
    _create_posts(con, all_ps)


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
    """)


def _load_registry(con: duckdb.DuckDBPyConnection, registry: Path) -> None:
    for name in ("entities", "populations", "aliases", "pages", "excluded_sources"):
        path = _lit(str(registry / f"{name}.csv"))
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
    con.execute("""
        CREATE TABLE pages_x AS
        WITH p AS (
            SELECT *, row_number() OVER (ORDER BY page_id) AS pidx,
                   ru(page_id, 0, 'size') AS u_size, ru(page_id, 0, 'rate') AS u_rate
            FROM reg_pages)
        SELECT page_id, platform, platform_page_id, entity_id, page_kind, pidx,
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
               rn(page_id, 0, 'noint', 4) <> 0 AS has_interactions,
               rn(page_id, 0, 'audit', 2) = 0 AS audited,
               rn(page_id, 0, 'aphase', 30) AS audit_phase
        FROM p;
        -- one insta-akim page only has an audit older than the 90-day window
        CREATE TABLE old_audit_page AS
        SELECT page_id FROM pages_x WHERE insta_akim AND NOT audited
        ORDER BY hash(page_id) LIMIT 1;
    """)


def _create_posts(con: duckdb.DuckDBPyConnection, all_ps: list[date]) -> None:
    """Posts of every page for every week (final counters; captures take fractions)."""
    con.execute("""
        CREATE TABLE posts AS
        WITH wk AS (SELECT ps, (ps - DATE '2020-01-03') // 7 AS ord FROM weeks),
        n AS (
            SELECT w.ps, w.ord, p.*,
                   CASE WHEN rn(p.page_id, w.ord, 'silent', 12) = 0 THEN 0
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
        SELECT ps, ord, page_id, platform, platform_page_id, page_kind, pidx, insta_akim,
               has_interactions, k, pkey, pub_ts,
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
    con: duckdb.DuckDBPyConnection, inbox: Path, ps: date, n_mentions: int, bad_rows: bool
) -> dict[str, list[tuple[str, int]]]:
    ctx = {
        "ps": f"DATE '{ps.isoformat()}'",
        "prev": f"DATE '{(ps - timedelta(weeks=1)).isoformat()}'",
        "ord": _ordinal(ps),
        "n": n_mentions,
        "n_authors": max(200, n_mentions * 2 // 5),
        "n_sources": max(80, n_mentions // 20),
        "n_spam": 3 + n_mentions // 5000,
        "export": f"(DATE '{(ps + timedelta(weeks=1)).isoformat()}'::TIMESTAMP"
                  f" + INTERVAL {EXPORT_HOURS} HOUR)",
    }
    ctx["n_non_regions"], ctx["n_excluded"] = con.execute(
        "SELECT (SELECT count(*) FROM non_regions), (SELECT count(*) FROM excluded)").fetchone()
    tag = ps.isoformat()
    files: dict[str, list[tuple[str, int]]] = {}
    files["mentions"] = [_copy(con, inbox, f"mentions/{tag}_mentions.csv",
                               _mentions_sql(ctx), "csv")]
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
    options = {
        "csv": "FORMAT csv, HEADER true, DELIMITER ','",
        "jsonl": "FORMAT json",
        "json": "FORMAT json, ARRAY true",
    }[fmt]
    rows = con.execute(f"COPY ({sql}) TO {_lit(str(path))} ({options})").fetchone()
    return rel, int(rows[0]) if rows else 0


# ---------------------------------------------------------------- mentions


def _mentions_base_sql(ps: str, ord_: int | str, start: int, n: int, ctx: dict) -> str:
    """Bulk mentions i in [start, start+n) of one week, typed; `section` orders the file."""
    o = f"({ord_})::BIGINT"
    return f"""
    WITH r AS (
        SELECT i, {ps} AS ps, {o} AS ord,
               rn({o}, i, 'kind', 1000) AS kind_r,
               rn({o}, i, 'var', 100) AS var_r,
               rn({o}, i, 'author', {ctx['n_authors']}) AS author_idx,
               rn({o}, i, 'src_mode', 100) AS src_r,
               {PLATFORM_CASE.format(r=f"rn({o}, i, 'platform', 100)")} AS platform0
        FROM range({start}, {start + n}) t(i)),
    regions AS (
        SELECT r.*, b1.entity_id AS e1, b2.entity_id AS e2,
               rn(r.ord, r.i, 'alias1', 1000003) % b1.n_alias AS k1,
               rn(r.ord, r.i, 'alias2', 1000003) % b2.n_alias AS k2
        FROM r
        JOIN region_bucket b1 ON b1.ps = r.ps AND b1.b = rn(r.ord, r.i, 'region', 10000)
        JOIN region_bucket b2 ON b2.ps = r.ps AND b2.b = rn(r.ord, r.i, 'region2', 10000)),
    picks AS (
        SELECT g.*, a1.alias AS a1, a1.lang AS lang1, a2.alias AS a2, gl.alias AS glue1
        FROM regions g
        JOIN region_alias a1 ON a1.ps = g.ps AND a1.entity_id = g.e1 AND a1.k = g.k1
        JOIN region_alias a2 ON a2.ps = g.ps AND a2.entity_id = g.e2 AND a2.k = g.k2
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
                    END AS a1_text,
               {_template_index('one', 'lang1', "rn(ord, i, 'tpl1', {n})")} AS t1_idx,
               {_template_index('two', 'lang1', "rn(ord, i, 'tpl2', {n})")} AS t2_idx,
               {_template_index('generic', 'lang1', "rn(ord, i, 'tplg', {n})")} AS tg_idx,
               rn(ord, i, 'other_id', {ctx['n_non_regions']}) AS nr_k,
               rn(ord, i, 'excl', {ctx['n_excluded']}) AS x_k
        FROM picks p),
    texted AS (
        SELECT s.*,
               CASE WHEN s.mkind = 'generic'
                         OR (s.mkind = 'direct' AND rn(s.ord, s.i, 'dtext', 2) = 0)
                        THEN tg.tpl
                    WHEN s.mkind = 'two' THEN replace(replace(t2.tpl, '{{a}}', s.a1_text),
                                                      '{{b}}', s.a2)
                    -- a mention with entity_id set names another region: text is not searched
                    WHEN s.mkind = 'direct' THEN replace(t1.tpl, '{{a}}', s.a2)
                    ELSE replace(t1.tpl, '{{a}}', s.a1_text) END AS text,
               CASE WHEN s.mkind = 'direct' THEN s.e1
                    WHEN s.mkind = 'other_id' THEN nr.entity_id END AS entity_id
        FROM shaped s
        JOIN templates t1 ON t1.kind = 'one' AND t1.lang = s.lang1 AND t1.idx = s.t1_idx
        JOIN templates t2 ON t2.kind = 'two' AND t2.lang = s.lang1 AND t2.idx = s.t2_idx
        JOIN templates tg ON tg.kind = 'generic' AND tg.lang = s.lang1 AND tg.idx = s.tg_idx
        JOIN non_regions nr ON nr.k = s.nr_k),
    sourced AS (
        SELECT t.*,
               CASE WHEN src_r >= 10 AND src_r < 15 THEN x.platform ELSE platform0 END
                   AS platform,
               CASE WHEN src_r < 10 THEN NULL
                    WHEN src_r < 15 THEN x.source_id
                    ELSE rn(ord, i, 'source', {ctx['n_sources']})::VARCHAR END AS src
        FROM texted t JOIN excluded x ON x.k = t.x_k),
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
               15 + rn(0, e1, 'mood', 25) AS pos_cut,
               rn(ord, i, 'outside', 1000) AS out_r
        FROM sourced s)
    SELECT 0 AS section, i, ord, platform,
           (ord * 1000000000 + i)::VARCHAR AS mention_id,
           CASE WHEN out_r < 3 THEN ps::TIMESTAMP - to_seconds(1 + rn(ord, i, 'before', 3600))
                WHEN out_r < 6 THEN (ps + 7)::TIMESTAMP + to_seconds(rn(ord, i, 'after', 3600))
                ELSE ps::TIMESTAMP + to_seconds(rn(ord, i, 'ts', 604800)) END AS ts,
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
        -- role, author number, mentions; author ids are stable across weeks
        SELECT 'spam' AS role, k AS author_no, 12 + rn({o}, k, 'spam_m', 6) AS m
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
    """Final column order and file order (copies with changed counts come last)."""
    return f"""
    SELECT platform, mention_id, iso(ts, ts_fmt) AS published_at,
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
    FROM ({body}) m
    ORDER BY section, ts, mention_id
    """


def _mentions_sql(ctx: dict) -> str:
    base = _mentions_base_sql(ctx["ps"], ctx["ord"], 0, ctx["n"], ctx)
    prev = _mentions_base_sql(ctx["prev"], ctx["ord"] - 1, 0, ctx["n"], ctx)
    body = f"""
    WITH cur AS ({base}), prv AS ({prev})
    SELECT * FROM cur
    UNION ALL
    -- the same mention exported again later in the file, its counters grown (latest wins)
    SELECT * REPLACE (1 AS section, coalesce(likes, 0) + 1 + rn(ord, i, 'dl', 40) AS likes,
                      coalesce(views, 0) + 10 + rn(ord, i, 'dv', 400) AS views)
    FROM cur WHERE rn(ord, i, 'dup', 100) = 0
    UNION ALL
    -- last week's mentions re-exported this week with updated counters
    SELECT * REPLACE (coalesce(likes, 0) + 2 + rn(ord, i, 'rl', 60) AS likes,
                      coalesce(comments, 0) + rn(ord, i, 'rc', 5) AS comments)
    FROM prv WHERE rn(ord, i, 'redo', 100) = 0
    UNION ALL
    SELECT * FROM ({_specials_sql(ctx)})
    UNION ALL
    -- exact week boundaries: start is inside (written in UTC), end is outside
    SELECT * REPLACE (0 AS section, i + {SPECIAL_ID_BASE} + 50000 AS i,
                      (ord * 1000000000 + i + {SPECIAL_ID_BASE} + 50000)::VARCHAR AS mention_id,
                      CASE i WHEN 0 THEN {ctx['ps']}::TIMESTAMP
                             WHEN 1 THEN ({ctx['ps']} + 7)::TIMESTAMP
                             ELSE ({ctx['ps']} + 7)::TIMESTAMP - INTERVAL 1 SECOND END AS ts,
                      CASE i WHEN 0 THEN 2 WHEN 1 THEN 1 ELSE 0 END AS ts_fmt)
    FROM ({_mentions_base_sql(ctx['ps'], ctx['ord'], 0, 3, ctx)})
    """
    return _format_mentions(body, ctx)


def _late_export_sql(ctx: dict) -> str:
    """A small later export: good rows plus rows that break the contract (for quarantine)."""
    good = _mentions_base_sql(ctx["ps"], ctx["ord"], LATE_ID_BASE, 20, ctx)
    bad = _mentions_base_sql(ctx["ps"], ctx["ord"], LATE_ID_BASE + 100, 6, ctx)
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
           iso(ts, rn(page_id, epoch(ts), 'tsfmt', 4)) AS captured_at,
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
           iso(pub_ts, rn(page_id, pkey, 'pubfmt', 4)) AS published_at,
           iso(cap_ts, rn(page_id, pkey * 10 + c, 'capfmt', 4)) AS captured_at,
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
        SELECT *, least(likes_f, 10 + rn(page_id, pkey, 'nl', 60)) AS n_like,
                  least(comments_f, 1 + rn(page_id, pkey, 'nc', 12)) AS n_comment,
                  40 + rn(page_id, 0, 'pool', 160) AS pool
        FROM posts WHERE insta_akim AND has_interactions AND ord IN ({o}, {o} - 1)),
    x AS (
        SELECT p.*, j, CASE WHEN j < n_like THEN 'like' ELSE 'comment' END AS kind,
               pub_ts + to_seconds(floor(pow(ru(page_id, pkey * 1000 + j, 'at'), 2)
                                         * 5 * 86400)::BIGINT) AS at_ts
        FROM p JOIN range(100) t(j) ON j < n_like + n_comment)
    SELECT platform, platform_page_id, post_id,
           (7000000000 + pidx * 100000 + rn(page_id, pkey * 1000 + j, 'user', pool))::VARCHAR
               AS user_id,
           kind, iso(at_ts, rn(page_id, pkey * 1000 + j, 'atfmt', 4)) AS at
    FROM x
    WHERE at_ts <= {ctx['export']}
      AND (ord = {o} OR at_ts >= {ctx['ps']}::TIMESTAMP - INTERVAL 1 DAY)
    ORDER BY at_ts, platform_page_id, post_id, j
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
           iso(cap_ts, rn(page_id, fk, 'tsfmt', 4)) AS captured_at,
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


def _add_bodies(con: duckdb.DuckDBPyConnection, registry: Path) -> int:
    """Add the responsible bodies (level `body`) the registry lacks; return how many.

    entities.csv is rewritten only when something is added, with the original rows first and
    in their order (values are the same, quoting may be DuckDB's).
    """
    con.execute("""CREATE TABLE body_defs (k INTEGER, entity_id VARCHAR, body_group VARCHAR,
                   name_ru VARCHAR, name_kk VARCHAR, parent_id VARCHAR, specialty VARCHAR)""")
    con.executemany("INSERT INTO body_defs VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(k, *body) for k, body in enumerate(BODIES)])
    added = con.execute("""
        INSERT INTO reg_entities BY NAME
        SELECT entity_id, 'body' AS level, name_ru, name_kk,
               -- a registry without the parent region still gets the service, unattached
               CASE WHEN parent_id IN (SELECT entity_id FROM reg_entities) THEN parent_id END
                   AS parent_id,
               body_group, 1000000000 + k AS _row
        FROM body_defs WHERE entity_id NOT IN (SELECT entity_id FROM reg_entities)
        """).fetchone()[0]
    if added:
        path = _lit(str(registry / "entities.csv"))
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
    rows = con.execute(f"COPY ({sql}) TO {_lit(str(path))} (FORMAT csv, HEADER true)").fetchone()
    return "../registry/expert_scores.csv", int(rows[0]) if rows else 0


# ---------------------------------------------------------------- incidents


def _weighted_case(r_sql: str, items: list[tuple[str, int]]) -> str:
    """SQL CASE picking a word by integer weights (summing to 100) from r_sql in [0, 100)."""
    whens, cum = [], 0
    for word, weight in items[:-1]:
        cum += weight
        whens.append(f"WHEN {r_sql} < {cum} THEN {_lit(word)}")
    return f"CASE {' '.join(whens)} ELSE {_lit(items[-1][0])} END"


def _create_incidents(con: duckdb.DuckDBPyConnection, months: list[date], n: int,
                      as_of: date) -> None:
    """Table incidents_all: every incident of the months (one row each) as exported at local
    midnight `as_of` (when the last generated week closed: a month still running then is
    exported up to that day), plus three rows (kind 'bad') that the late file spoils."""
    ms_list = ", ".join(f"DATE '{m.isoformat()}'" for m in months)
    municipal = ", ".join(_lit(level) for level in MUNICIPAL_LEVELS)
    shares = " ".join(f"WHEN {_lit(g)} THEN {w}" for g, w in GROUP_SHARES.items())
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
    tag, ms, fmt = month.strftime("%Y-%m"), f"DATE '{month.isoformat()}'", _lit(TS_FORMAT)
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
           CASE WHEN kind = 'bad' AND {bad_no} = 1 THEN {_lit(BAD_SATISFACTION)}
                ELSE satisfaction END AS satisfaction
    FROM incidents_all
    WHERE ms = {ms} AND (late OR (kind = 'bad' AND {str(bad_rows).lower()}))
    ORDER BY kind = 'bad', detected, incident_id
    """
    return [_copy(con, inbox, f"incidents/{tag}_incidents.csv", main, "csv"),
            _copy(con, inbox, f"incidents/{tag}_incidents_late.csv", late, "csv")]
