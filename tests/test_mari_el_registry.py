"""The Республика Марий Эл registry is reproducible from registry/reference, loads cleanly and
holds the reference facts: 14 districts and 3 urban okrugs with populations, the ministries,
and the two body groups of the incident rating."""

from __future__ import annotations

import csv
from datetime import date, time
from pathlib import Path

import duckdb
import pytest

from devtools import mari_el_registry
from govpulse.territory import load_territory
from ingestion.registry import load_registry

REGISTRY = mari_el_registry.OUT_DIR
REFERENCE = mari_el_registry.REFERENCE_DIR / mari_el_registry.REFERENCE_FILE
FILES = ("entities.csv", "populations.csv", "aliases.csv", "pages.csv", "excluded_sources.csv")


def _reference(kind: str) -> list[dict[str, str]]:
    with REFERENCE.open(encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r["kind"] == kind]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    counts = load_registry(con, REGISTRY)
    assert counts == {"entities": 29, "populations": 17, "pages": 0, "aliases": 55,
                      "excluded_sources": 0, "expert_scores": 0}
    return con


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


@pytest.mark.parametrize("name", FILES)
def test_build_reproduces_committed_files(tmp_path: Path, name: str) -> None:
    mari_el_registry.build(mari_el_registry.REFERENCE_DIR, tmp_path)
    assert (tmp_path / name).read_bytes() == (REGISTRY / name).read_bytes()


def test_territory_settings() -> None:
    territory = load_territory(REGISTRY)
    assert territory.territory_id == "ru-mari-el"
    assert territory.name_ru == "Республика Марий Эл"
    assert territory.timezone == "Europe/Moscow" and territory.zone.key == "Europe/Moscow"
    assert territory.languages == ("ru",)
    assert territory.ratings == ("incidents", "fakes")
    assert territory.runs("incidents") and territory.runs("fakes")
    assert not territory.runs("people") and not territory.runs("region_pages")
    assert (territory.week_starts, territory.deadline) == (4, time(18, 0))  # the defaults


def test_municipalities_with_rosstat_populations(con: duckdb.DuckDBPyConnection) -> None:
    municipal = rows(con, """
        SELECT e.entity_id, e.level, e.name_ru, e.body_group, p.population, p.population_date
        FROM registry.entities e JOIN registry.populations p USING (entity_id)
        WHERE e.level IN ('district', 'city') ORDER BY e.name_ru""")
    expected = sorted(
        ((r["oktmo"] or "yurinsky", r["kind"], r["name_ru"], "municipal", int(r["population"]),
          date.fromisoformat(r["population_date"]))
         for r in _reference("district") + _reference("city")),
        key=lambda r: r[2])
    assert municipal == expected
    assert [m[1] for m in municipal].count("district") == 14
    assert {m[2] for m in municipal if m[1] == "city"} == {
        "городской округ «Город Йошкар-Ола»", "городской округ «Город Волжск»",
        "городской округ «Город Козьмодемьянск»"}
    assert ("88701000", "city", "городской округ «Город Йошкар-Ола»", "municipal", 286876,
            date(2021, 1, 1)) in municipal
    assert sum(m[4] for m in municipal) == 675332  # the reference's check sum
    assert {m[5] for m in municipal} == {date(2021, 1, 1)}


def test_ministries(con: duckdb.DuckDBPyConnection) -> None:
    ministries = rows(con, """
        SELECT name_ru, body_group, valid_from, valid_to, parent_id FROM registry.entities
        WHERE level = 'body' ORDER BY name_ru""")
    expected = sorted(
        (r["name_ru"], "ministry", date.fromisoformat(r["valid_from"]) if r["valid_from"] else None,
         date.fromisoformat(r["valid_to"]) if r["valid_to"] else None, None)
        for r in _reference("ministry"))
    assert ministries == expected and len(ministries) == 12
    # the renamed sports ministry is one body with two names; the split one is closed
    sport = rows(con, "SELECT name_ru, valid_from, valid_to FROM registry.entities "
                      "WHERE entity_id = 'body-minsport' ORDER BY valid_from NULLS FIRST")
    assert sport == [("Министерство спорта и туризма Республики Марий Эл", None,
                      date(2024, 12, 31)),
                     ("Министерство спорта Республики Марий Эл", date(2025, 1, 1), None)]
    assert rows(con, "SELECT count(*) FROM registry.populations WHERE entity_id LIKE 'body-%'"
                ) == [(0,)]


def test_body_groups_of_the_incident_rating(con: duckdb.DuckDBPyConnection) -> None:
    # municipal = «органы исполнительной власти и местного самоуправления»,
    # ministry = «министерства» (each ranked separately, METHODOLOGY §5)
    assert rows(con, "SELECT body_group, list(DISTINCT level ORDER BY level), "
                     "count(DISTINCT entity_id) FROM registry.entities "
                     "GROUP BY body_group ORDER BY body_group") == [
        ("ministry", ["body"], 11), ("municipal", ["city", "district"], 17)]


def test_aliases_hold_the_common_short_forms(con: duckdb.DuckDBPyConnection) -> None:
    aliases = dict(rows(con, "SELECT alias, entity_id FROM registry.aliases"))
    assert {aliases[a] for a in ("Йошкар-Ола", "г. Йошкар-Ола", "город Йошкар-Ола")} == \
        {"88701000"}
    assert aliases["Волжск"] == "88705000" and aliases["Козьмодемьянск"] == "88715000"
    assert aliases["Волжский район"] == "88604000"
    assert aliases["Юринский район"] == "yurinsky"
    assert rows(con, "SELECT count(*) - count(DISTINCT alias) FROM registry.aliases") == [(0,)]
