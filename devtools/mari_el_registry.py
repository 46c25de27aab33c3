"""Build the registry of Республика Марий Эл (`registry/ru-mari-el/`) from
`registry/reference/ru_mari_el_bodies.csv`.

Municipal districts and urban okrugs (entity_id = OKTMO) with their Rosstat populations, and the
republic's ministries as responsible bodies of the incident rating. Pages and excluded sources
are empty until the monitoring team lists them; `territory.yml` is kept by hand. Run:

    uv run python -m devtools.mari_el_registry [--reference DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from devtools.default_registry import (
    ALIAS_COLUMNS,
    ENTITY_COLUMNS,
    EXCLUDED_COLUMNS,
    PAGE_COLUMNS,
    POPULATION_COLUMNS,
    REFERENCE_DIR,
    REPO_ROOT,
    Row,
    read_csv,
    write_csv,
)

REFERENCE_FILE = "ru_mari_el_bodies.csv"
OUT_DIR = REPO_ROOT / "registry" / "ru-mari-el"

# Body groups of the incident rating (METHODOLOGY §5), as the pipeline's codes:
# municipal = «органы исполнительной власти и местного самоуправления», ministry = «министерства».
MUNICIPAL_GROUP = "municipal"
MINISTRY_GROUP = "ministry"
LEVELS = {"district": "district", "city": "city", "ministry": "body"}

# Municipalities whose OKTMO is not in the reference: a stable stand-in id.
NO_OKTMO_IDS = {"Юринский муниципальный район": "yurinsky"}

# Ministry name -> entity_id. A rename keeps the id (a new line of the same entity); a split
# closes the old ministry and opens new ones with their own ids.
MINISTRY_IDS = {
    "Министерство здравоохранения Республики Марий Эл": "body-minzdrav",
    "Министерство образования и науки Республики Марий Эл": "body-minobrnauki",
    "Министерство финансов Республики Марий Эл": "body-minfin",
    "Министерство сельского хозяйства и продовольствия Республики Марий Эл": "body-minselhoz",
    "Министерство культуры, печати и по делам национальностей Республики Марий Эл":
        "body-minkult",
    "Министерство природных ресурсов, экологии и охраны окружающей среды Республики Марий Эл":
        "body-minprirody",
    "Министерство промышленности, экономического развития и торговли Республики Марий Эл":
        "body-minpromtorg",
    "Министерство спорта и туризма Республики Марий Эл": "body-minsport",
    "Министерство спорта Республики Марий Эл": "body-minsport",
    "Министерство внутренней политики, развития местного самоуправления и юстиции "
    "Республики Марий Эл": "body-minvnutpol-2024",
    "Министерство внутренней политики Республики Марий Эл": "body-minvnutpol",
    "Министерство развития местного самоуправления и юстиции Республики Марий Эл":
        "body-minmsu",
}

_DISTRICT_SUFFIX = " муниципальный район"
_CITY_PREFIX = "городской округ «Город "


def entity_id(row: Row) -> str:
    if row["kind"] == "ministry":
        return MINISTRY_IDS[row["name_ru"]]
    return row["oktmo"] or NO_OKTMO_IDS[row["name_ru"]]


def build_entities(rows: list[Row]) -> list[Row]:
    entities = [{
        "entity_id": entity_id(r),
        "level": LEVELS[r["kind"]],
        "name_ru": r["name_ru"],
        "body_group": MINISTRY_GROUP if r["kind"] == "ministry" else MUNICIPAL_GROUP,
        "valid_from": r["valid_from"],
        "valid_to": r["valid_to"],
    } for r in rows]
    return entities  # reference order: districts, urban okrugs, ministries (versions by date)


def build_populations(rows: list[Row]) -> list[Row]:
    return [{"entity_id": entity_id(r), "population": r["population"],
             "population_date": r["population_date"]} for r in rows if r["population"]]


def short_names(name_ru: str) -> list[str]:
    """Forms people write: «Волжский район»; «Йошкар-Ола», «г. Йошкар-Ола», «город Йошкар-Ола»."""
    if name_ru.endswith(_DISTRICT_SUFFIX):
        return [name_ru.removesuffix(_DISTRICT_SUFFIX) + " район"]
    if name_ru.startswith(_CITY_PREFIX) and name_ru.endswith("»"):
        city = name_ru[len(_CITY_PREFIX):-1]
        return [city, f"г. {city}", f"город {city}", f"городской округ {city}"]
    return []


def build_aliases(rows: list[Row]) -> list[Row]:
    aliases: dict[tuple[str, str], Row] = {}
    for r in rows:
        eid = entity_id(r)
        for alias in (r["name_ru"], *short_names(r["name_ru"])):
            aliases.setdefault((eid, alias), {"entity_id": eid, "alias": alias, "lang": "ru"})
    return list(aliases.values())


def build(reference_dir: Path, out_dir: Path) -> None:
    """(Re)write entities, populations, aliases, pages and excluded_sources CSVs in out_dir."""
    rows = read_csv(reference_dir / REFERENCE_FILE)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / "entities.csv", ENTITY_COLUMNS, build_entities(rows))
    write_csv(out_dir / "populations.csv", POPULATION_COLUMNS, build_populations(rows))
    write_csv(out_dir / "aliases.csv", ALIAS_COLUMNS, build_aliases(rows))
    write_csv(out_dir / "pages.csv", PAGE_COLUMNS, [])
    write_csv(out_dir / "excluded_sources.csv", EXCLUDED_COLUMNS, [])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=REFERENCE_DIR)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    build(args.reference, args.out)
    print(f"registry written to {args.out}")


if __name__ == "__main__":
    main()
