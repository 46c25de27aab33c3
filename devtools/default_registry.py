"""Build the default registry for Kazakhstan (`registry/kz/`) from `registry/reference/`.

Entities, populations and aliases are derived from the reference CSVs; pages and excluded
sources are a deterministic DEMO set (fictional handles and people). Run:

    uv run python -m devtools.default_registry [--reference DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = REPO_ROOT / "registry" / "reference"
OUT_DIR = REPO_ROOT / "registry" / "kz"

SEED = "govpulse-kz-demo-1"
CAPITAL_KATO = "710000000"
PLATFORMS = ("instagram", "facebook", "telegram", "youtube", "vk", "x", "ok")
# Share of pages per platform in the demo: Instagram, Facebook, Telegram dominate in KZ.
PLATFORM_WEIGHTS = {
    "instagram": 30,
    "facebook": 22,
    "telegram": 22,
    "youtube": 8,
    "vk": 6,
    "x": 6,
    "ok": 6,
}

ENTITY_COLUMNS = (
    "entity_id", "level", "name_ru", "name_kk", "parent_id", "body_group", "valid_from", "valid_to",
)
POPULATION_COLUMNS = ("entity_id", "population", "population_date")
ALIAS_COLUMNS = ("entity_id", "alias", "lang")
PAGE_COLUMNS = (
    "page_id", "platform", "platform_page_id", "entity_id", "page_kind", "url", "owner_name",
    "active_from", "active_to",
)
EXCLUDED_COLUMNS = ("platform", "source_id", "reason")

Row = dict[str, str]

# Short forms people actually write, keyed by KATO code (apply to every row with that code).
EXTRA_REGION_ALIASES: dict[str, list[tuple[str, str]]] = {
    "100000000": [("Абайская область", "ru")],
    "330000000": [("Жетысуская область", "ru"), ("область Жетысу", "ru")],
    "620000000": [("Улытауская область", "ru"), ("область Улытау", "ru")],
    "270000000": [("ЗКО", "ru")],
    "590000000": [("СКО", "ru")],
    "630000000": [("ВКО", "ru")],
    CAPITAL_KATO: [
        ("Астана", "ru"), ("город Астана", "ru"), ("Нур-Султан", "ru"), ("Нұр-Сұлтан", "kk"),
        ("город Нур-Султан", "ru"),
    ],
    "750000000": [("Алматы", "ru"), ("город Алматы", "ru")],
    "790000000": [("Шымкент", "ru"), ("город Шымкент", "ru")],
}

TRANSLIT = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "yo",
    "ж": "zh", "з": "z", "и": "i", "й": "y", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n",
    "ң": "n", "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u",
    "ү": "u", "ф": "f", "х": "kh", "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch",
    "ъ": "", "ы": "y", "і": "i", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}

# Fictional akims: first names and surnames are combined, so any match with a real person is
# accidental. (male first name, female first name) pairs keep surnames in the right gender.
MALE_NAMES = (
    "Ерлан", "Нурлан", "Бауыржан", "Асхат", "Даурен", "Серик", "Кайрат", "Марат", "Жандос",
    "Талгат", "Арман", "Канат", "Ержан", "Мурат", "Болат", "Азамат", "Дархан", "Ермек", "Алмас",
    "Руслан", "Саят", "Берик", "Данияр", "Аслан",
)
FEMALE_NAMES = ("Гульнара", "Айгуль", "Динара", "Сауле", "Жанар", "Алия", "Мадина", "Асель")
SURNAMES = (
    "Сапаров", "Жумабаев", "Тулегенов", "Касымов", "Ахметжанов", "Нурпеисов", "Бекмуханов",
    "Оспанов", "Искаков", "Абдрахманов", "Жаксылыков", "Сейтказиев", "Тажибаев", "Мукашев",
    "Ермеков", "Кенжебаев", "Утегенов", "Байжанов", "Шаймерденов", "Калиакпаров", "Садыков",
    "Есенгельдиев", "Турсынбаев", "Алимжанов",
)

OTHER_PAGES = (  # (kind of owner, owner_name) for `other` pages of regions
    ("health", "Управление здравоохранения"),
    ("youth", "Молодёжный ресурсный центр"),
    ("press", "Пресс-служба акима"),
    ("edu", "Управление образования"),
    ("emergency", "Служба 109"),
)

# Demo sources of mentions that the rating must ignore; the generator posts mentions in them.
EXCLUDED_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("instagram", "almaty_reklama_24", "paid_public"),
    ("instagram", "kz_skidki_akcii", "paid_public"),
    ("instagram", "astana_top_reklama", "paid_public"),
    ("instagram", "shymkent_obyavleniya", "paid_public"),
    ("telegram", "kz_promo_posts", "paid_public"),
    ("telegram", "reklama_kanal_kz", "paid_public"),
    ("vk", "public190045871", "paid_public"),
    ("vk", "public203377411", "paid_public"),
    ("ok", "group70000031894512", "paid_public"),
    ("facebook", "kz_obyavleniya_market", "paid_public"),
    ("x", "kz_promo_bot", "paid_public"),
    ("youtube", "UCpromoKZreklama000000001", "paid_public"),
    ("telegram", "zhanalyqtar_demo_kz", "media"),
    ("telegram", "novosti_kz_24_demo", "media"),
    ("instagram", "qazaq_aqparat_demo", "media"),
    ("instagram", "kala_tv_demo", "media"),
    ("facebook", "kz_news_portal_demo", "media"),
    ("youtube", "UCkzNewsChannelDemo0000001", "media"),
    ("x", "kz_news_wire_demo", "media"),
    ("vk", "public177204466", "media"),
    ("ok", "group70000027719033", "media"),
    ("telegram", "region_tv_demo", "media"),
    ("telegram", "energosbyt_info_demo", "state_company"),
    ("instagram", "gorvodokanal_demo", "state_company"),
    ("facebook", "teploseti_kz_demo", "state_company"),
    ("telegram", "avtobus_park_demo", "state_company"),
    ("instagram", "zhol_qurylys_demo", "state_company"),
    ("instagram", "mega_market_kz_demo", "corporate"),
    ("telegram", "bank_qazaq_demo", "corporate"),
    ("facebook", "stroi_invest_kz_demo", "corporate"),
    ("instagram", "auto_salon_kz_demo", "corporate"),
    ("vk", "public211904388", "corporate"),
    ("telegram", "mobile_operator_kz_demo", "corporate"),
)
GOVERNMENT_SOURCES = 8  # official region pages also listed as excluded (government) sources


def _h(*parts: object) -> int:
    """Stable 64-bit hash of the parts (independent of Python's hash randomisation)."""
    digest = hashlib.sha256("|".join([SEED, *map(str, parts)]).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _u(*parts: object) -> float:
    """Stable uniform number in (0, 1)."""
    return (_h(*parts) + 0.5) / 2**64


def _weighted_sample(keys: Sequence[str], weights: Sequence[float], k: int, salt: str) -> list[str]:
    """k keys without replacement, weighted (Efraimidis-Spirakis with stable hashes)."""
    scored = sorted(
        ((-math.log(_u(salt, key)) / w, key) for key, w in zip(keys, weights, strict=True))
    )
    return [key for _, key in scored[:k]]


def translit(text: str) -> str:
    """Latin handle from a Russian/Kazakh name: lower case, non-letters as '_'."""
    latin = "".join(TRANSLIT.get(ch, ch) for ch in text.lower())
    return re.sub(r"[^a-z0-9]+", "_", latin).strip("_")


def read_csv(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Row]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})


# ---------------------------------------------------------------- entities


def region_entity_id(row: Row) -> str:
    """KATO code; rows whose boundaries ended in 2022 keep the code with a `-2020` suffix."""
    if row["valid_to"] and row["kato_code"] != CAPITAL_KATO:
        return f"{row['kato_code']}-2020"
    return row["kato_code"]


def _is_renamed_capital(row: Row) -> bool:
    # The Nur-Sultan row is the same unit as Astana (renaming, not a boundary change).
    return row["kato_code"] == CAPITAL_KATO and bool(row["valid_to"])


def _day_before(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def capital_versions(regions: list[Row]) -> list[Row]:
    """The capital's name history: one line per name, same entity_id (a rename is a new line).

    The reference has Nur-Sultan (2019-03-23..2022-09-18) and Astana (from 2022-09-19); before
    the first rename the city was Astana too, so the current names also get a line ending the
    day before it (its earlier name Akmola, before 1998, is out of the ratings' range).
    """
    named = sorted((r for r in regions if r["kato_code"] == CAPITAL_KATO),
                   key=lambda r: r["valid_from"])
    current = next(r for r in named if not r["valid_to"])
    first = named[0]
    versions = [{"name_ru": r["name_ru"], "name_kk": r["name_kk"], "valid_from": r["valid_from"],
                 "valid_to": r["valid_to"]} for r in named]
    if first["valid_from"]:
        versions.insert(0, {"name_ru": current["name_ru"], "name_kk": current["name_kk"],
                            "valid_from": "", "valid_to": _day_before(first["valid_from"])})
    return [{"entity_id": CAPITAL_KATO, "level": "region", **v} for v in versions]


def build_entities(regions: list[Row], districts: list[Row]) -> list[Row]:
    rows: list[Row] = capital_versions(regions)
    for r in regions:
        if r["kato_code"] == CAPITAL_KATO:
            continue
        rows.append({
            "entity_id": region_entity_id(r),
            "level": "region",
            "name_ru": r["name_ru"],
            "name_kk": r["name_kk"],
            "valid_from": r["valid_from"],
            "valid_to": r["valid_to"],
        })
    current = current_region_ids(regions)
    for d in districts:
        rows.append({
            "entity_id": d["kato_code"],
            "level": d["kind"],
            "name_ru": d["name_ru"],
            "name_kk": d["name_kk"],
            "parent_id": current[d["region_name_ru"]],
        })
    # Versions of one entity in date order (an empty valid_from is the earliest).
    return sorted(rows, key=lambda r: (r["entity_id"], r.get("valid_from", "")))


def current_region_ids(regions: list[Row]) -> dict[str, str]:
    """name_ru of a region valid now -> its entity_id."""
    return {r["name_ru"]: region_entity_id(r) for r in regions if not r["valid_to"]}


# ---------------------------------------------------------------- populations


def build_populations(regions: list[Row], districts: list[Row], recent: list[Row]) -> list[Row]:
    figures: list[tuple[str, str, str]] = []
    for r in regions:
        eid = region_entity_id(r)
        if r["population_2020_01_01"]:
            figures.append((eid, r["population_2020_01_01"], "2020-01-01"))
        figures.append((eid, r["population_latest"], r["population_latest_date"]))
    current_by_kato = {r["kato_code"]: region_entity_id(r) for r in regions if not r["valid_to"]}
    for r in recent:
        if r["kato_code"]:  # the national total has no KATO code and no entity
            figures.append((current_by_kato[r["kato_code"]], r["population"], r["population_date"]))
    for d in districts:
        figures.append((d["kato_code"], d["population"], d["population_date"]))
    return _dedupe_populations(figures)


def _dedupe_populations(figures: list[tuple[str, str, str]]) -> list[Row]:
    """One figure per (entity, date); the same date with two values is a reference-data error."""
    seen: dict[tuple[str, str], str] = {}
    for eid, population, when in figures:
        key = (eid, when)
        if key in seen and seen[key] != population:
            raise ValueError(f"conflicting populations for {key}: {seen[key]} vs {population}")
        seen[key] = population
    return [
        {"entity_id": eid, "population": pop, "population_date": when}
        for (eid, when), pop in sorted(seen.items())
    ]


# ---------------------------------------------------------------- aliases


def build_aliases(regions: list[Row], districts: list[Row]) -> list[Row]:
    pairs: list[tuple[str, str, str]] = []
    # Current names first: the renamed capital's old names come after Astana's.
    for r in sorted(regions, key=_is_renamed_capital):
        # The renamed capital's names attach to the one capital entity.
        eid = CAPITAL_KATO if _is_renamed_capital(r) else region_entity_id(r)
        for column, lang in (("name_ru", "ru"), ("name_kk", "kk"),
                             ("akimat_name_ru", "ru"), ("akimat_name_kk", "kk")):
            pairs.append((eid, r[column], lang))
        pairs.extend((eid, alias, lang) for alias, lang in EXTRA_REGION_ALIASES.get(
            r["kato_code"], []))
    for d in districts:
        pairs.append((d["kato_code"], d["name_ru"], "ru"))
        pairs.append((d["kato_code"], d["name_kk"], "kk"))
        if d["name_ru"].startswith("г. "):  # «г. Семей» is mostly written «Семей»
            pairs.append((d["kato_code"], d["name_ru"][3:], "ru"))
    rows: dict[tuple[str, str], Row] = {}
    for eid, alias, lang in pairs:
        rows.setdefault((eid, alias), {"entity_id": eid, "alias": alias, "lang": lang})
    return sorted(rows.values(), key=lambda r: r["entity_id"])  # stable: keeps name order


# ---------------------------------------------------------------- pages


def _pick_platforms(key: str, k: int) -> list[str]:
    return _weighted_sample(PLATFORMS, [PLATFORM_WEIGHTS[p] for p in PLATFORMS], k, f"pf:{key}")


def _short_kk(name_kk: str) -> str:
    """«Ақмола облысы» -> «Ақмола»; «Бұланды ауданы» -> «Бұланды»."""
    return re.sub(r"\s+(облысы|қаласы|ауданы)$", "", name_kk)


def _kk_akimat(name_kk: str) -> str:
    """Kazakh akimat name of a district/city: «Бұланды ауданы» -> «Бұланды ауданының әкімдігі»."""
    return f"{name_kk}ның әкімдігі"


def _person_names(count: int) -> list[str]:
    """Distinct fictional «First Last» names in a stable order."""
    names: list[str] = []
    n = 0
    while len(names) < count:
        female = _h("sex", n) % 6 == 0
        firsts = FEMALE_NAMES if female else MALE_NAMES
        first = firsts[_h("first", n) % len(firsts)]
        last = SURNAMES[_h("last", n) % len(SURNAMES)] + ("а" if female else "")
        if f"{first} {last}" not in names:
            names.append(f"{first} {last}")
        n += 1
    return names


def _page(platform: str, handle: str, entity_id: str, kind: str, owner: str) -> Row:
    return {
        "platform": platform, "handle": handle, "entity_id": entity_id, "page_kind": kind,
        "owner_name": owner,
    }


def _region_pages(regions: list[Row]) -> list[Row]:
    pages = []
    for r in regions:
        if r["valid_to"]:
            continue
        eid = region_entity_id(r)
        handle = f"{translit(r['name_kk'])}_akimdigi"
        for platform in _pick_platforms(eid, 1 + _h("nreg", eid) % 3):
            pages.append(_page(platform, handle, eid, "official_region", r["akimat_name_ru"]))
    return pages


def _district_pages(districts: list[Row]) -> list[Row]:
    ids = [d["kato_code"] for d in districts]
    weights = [math.sqrt(int(d["population"])) for d in districts]
    chosen = set(_weighted_sample(ids, weights, 60, "district-pages"))
    pages = []
    for d in districts:
        if d["kato_code"] not in chosen:
            continue
        handle = f"{translit(d['name_kk'])}_akimdigi"
        for platform in _pick_platforms(d["kato_code"], 1 + (_h("ndist", d["kato_code"]) % 3 == 0)):
            pages.append(_page(
                platform, handle, d["kato_code"], "official_district", _kk_akimat(d["name_kk"])))
    return pages


def _akim_pages(districts: list[Row]) -> list[Row]:
    ids = [d["kato_code"] for d in districts]
    weights = [math.sqrt(int(d["population"])) for d in districts]
    chosen = sorted(_weighted_sample(ids, weights, 42, "akim-pages"))
    names = _person_names(len(chosen) + 1)
    pages = []
    for i, eid in enumerate(chosen):
        handle = f"{translit(names[i]).replace('_', '.')}_akim"
        pages.append(_page("instagram", handle, eid, "akim_personal", names[i]))
        if _h("akim-other", eid) % 8 == 0:  # a few akims also run a page elsewhere
            platform = ("facebook", "telegram", "youtube")[_h("akim-pf", eid) % 3]
            pages.append(_page(platform, handle, eid, "akim_personal", names[i]))
    # The akim of the first chosen unit was replaced: the old page closed in 2025 and the
    # successor's page opened during the demo weeks (exercises participation by dates).
    old = pages[0]
    old["active_to"] = "2025-08-29"
    successor = names[len(chosen)]
    new = _page("instagram", f"{translit(successor).replace('_', '.')}_akim", old["entity_id"],
                "akim_personal", successor)
    new["active_from"] = "2026-11-14"
    pages.append(new)
    return pages


def _other_pages(regions: list[Row]) -> list[Row]:
    current = [r for r in regions if not r["valid_to"]]
    pages = []
    for i, (slug, owner) in enumerate(OTHER_PAGES):
        r = current[_h("other", i) % len(current)]
        platform = ("instagram", "telegram", "facebook")[_h("other-pf", i) % 3]
        handle = f"{translit(_short_kk(r['name_kk']))}_{slug}"
        pages.append(_page(platform, handle, region_entity_id(r), "other", owner))
    return pages


def _unique_handle(platform: str, handle: str, used: set[str]) -> str:
    """The handle made unique on its platform (several districts share a name)."""
    if platform == "telegram":  # Telegram usernames allow no dots
        handle = handle.replace(".", "_")
    if platform == "x":  # X handles are at most 15 characters
        handle = handle.replace(".", "_")[:13].rstrip("_")
    candidate, n = handle, 1
    while candidate in used:
        n += 1
        candidate = f"{handle}{n}"
    used.add(candidate)
    return candidate


def _platform_page_id(platform: str, handle: str) -> str:
    """A plausible native id: the handle on instagram/telegram/x, numbers or channel ids else."""
    h = _h("ppid", platform, handle)
    if platform in ("instagram", "telegram", "x"):
        return handle
    if platform == "facebook":
        return str(100064000000000 + h % 999999999)
    if platform == "vk":
        return str(200000000 + h % 99999999)
    if platform == "ok":
        return str(70000000000000 + h % 9999999999)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "UC" + "".join(alphabet[(h >> (3 * j)) % 64] for j in range(21)) + "A"


def _url(platform: str, ppid: str, handle: str) -> str:
    return {
        "instagram": f"https://instagram.com/{handle}",
        "telegram": f"https://t.me/{handle}",
        "x": f"https://x.com/{handle}",
        "facebook": f"https://www.facebook.com/{handle}",
        "vk": f"https://vk.com/{handle}",
        "ok": f"https://ok.ru/group/{ppid}",
        "youtube": f"https://www.youtube.com/@{handle}",
    }[platform]


def build_pages(regions: list[Row], districts: list[Row]) -> list[Row]:
    pages = (
        _region_pages(regions) + _district_pages(districts) + _akim_pages(districts)
        + _other_pages(regions)
    )
    kind_order = ("official_region", "official_district", "akim_personal", "other")
    pages.sort(key=lambda p: (kind_order.index(p["page_kind"]), p["entity_id"], p["platform"],
                              p.get("active_from", "")))
    used: dict[str, set[str]] = {p: set() for p in PLATFORMS}
    counters = dict.fromkeys(PLATFORMS, 0)
    for p in pages:
        platform = p["platform"]
        counters[platform] += 1
        p["page_id"] = f"p-{platform}-{counters[platform]:03d}"
        handle = _unique_handle(platform, p["handle"], used[platform])
        p["platform_page_id"] = _platform_page_id(platform, handle)
        p["url"] = _url(platform, p["platform_page_id"], handle)
    return sorted(pages, key=lambda p: p["page_id"])


def build_excluded_sources(pages: list[Row]) -> list[Row]:
    rows = [{"platform": p, "source_id": s, "reason": r} for p, s, r in EXCLUDED_SOURCES]
    official = [p for p in pages if p["page_kind"] == "official_region"]
    official.sort(key=lambda p: _h("gov-source", p["page_id"]))
    rows += [
        {"platform": p["platform"], "source_id": p["platform_page_id"], "reason": "government"}
        for p in official[:GOVERNMENT_SOURCES]
    ]
    return sorted(rows, key=lambda r: (r["platform"], r["source_id"]))


# ---------------------------------------------------------------- entry points


def build(reference_dir: Path, out_dir: Path) -> None:
    """(Re)write entities, populations, aliases, pages and excluded_sources CSVs in out_dir."""
    regions = read_csv(reference_dir / "kz_regions.csv")
    districts = read_csv(reference_dir / "kz_districts.csv")
    recent = read_csv(reference_dir / "kz_regions_population_recent_partial.csv")
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = build_pages(regions, districts)
    write_csv(out_dir / "entities.csv", ENTITY_COLUMNS, build_entities(regions, districts))
    write_csv(out_dir / "populations.csv", POPULATION_COLUMNS,
              build_populations(regions, districts, recent))
    write_csv(out_dir / "aliases.csv", ALIAS_COLUMNS, build_aliases(regions, districts))
    write_csv(out_dir / "pages.csv", PAGE_COLUMNS, pages)
    write_csv(out_dir / "excluded_sources.csv", EXCLUDED_COLUMNS, build_excluded_sources(pages))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=REFERENCE_DIR)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    build(args.reference, args.out)
    print(f"registry written to {args.out}")


if __name__ == "__main__":
    main()
