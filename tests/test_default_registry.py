"""The shipped Kazakhstan registry is reproducible from registry/reference and consistent."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from devtools import default_registry
from ingestion.registry import load_registry

REGISTRY = default_registry.OUT_DIR
FILES = ("entities.csv", "populations.csv", "aliases.csv", "pages.csv", "excluded_sources.csv")


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in FILES:
        path = REGISTRY / name
        con.execute(f"CREATE TABLE {path.stem} AS "
                    f"SELECT * FROM read_csv('{path}', header = true, all_varchar = true)")
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    return con.execute(sql).fetchone()[0]


@pytest.mark.parametrize("name", FILES)
def test_build_reproduces_committed_files(tmp_path: Path, name: str) -> None:
    default_registry.build(default_registry.REFERENCE_DIR, tmp_path)
    assert (tmp_path / name).read_bytes() == (REGISTRY / name).read_bytes()


def test_entity_versions_do_not_overlap(con: duckdb.DuckDBPyConnection) -> None:
    """An entity_id has several lines only as a name history (the capital)."""
    assert scalar(con, "SELECT list(entity_id) FROM (SELECT entity_id FROM entities "
                       "GROUP BY entity_id HAVING count(*) > 1)") == ["710000000"]
    overlaps = scalar(con, """
        SELECT count(*) FROM entities a JOIN entities b
          ON a.entity_id = b.entity_id AND a.valid_from IS DISTINCT FROM b.valid_from
         AND coalesce(a.valid_from::DATE, DATE '0001-01-01')
             <= coalesce(b.valid_to::DATE, DATE '9999-12-31')
         AND coalesce(b.valid_from::DATE, DATE '0001-01-01')
             <= coalesce(a.valid_to::DATE, DATE '9999-12-31')""")
    assert overlaps == 0


def test_passes_the_registry_check() -> None:
    with duckdb.connect() as con:
        counts = load_registry(con, REGISTRY)
    assert counts["entities"] == 23 + 2 + 220  # two more names of the capital


def test_region_set(con: duckdb.DuckDBPyConnection) -> None:
    current = "SELECT count(*) FROM entities WHERE level = 'region' AND valid_to IS NULL"
    assert scalar(con, current) == 20  # 17 oblasts + Astana, Almaty, Shymkent
    ended = scalar(con, "SELECT list(entity_id ORDER BY entity_id) FROM (SELECT entity_id "
                        "FROM entities GROUP BY entity_id "
                        "HAVING count(*) FILTER (WHERE valid_to IS NULL) = 0)")
    assert ended == ["190000000-2020", "350000000-2020", "630000000-2020"]
    capital = con.execute("SELECT name_ru, name_kk, valid_from, valid_to FROM entities "
                          "WHERE entity_id = '710000000'").fetchall()
    assert capital == [  # one entity, a line per name, in file order
        ("г. Астана", "Астана қаласы", None, "2019-03-22"),
        ("г. Нур-Султан", "Нұр-Сұлтан қаласы", "2019-03-23", "2022-09-18"),
        ("г. Астана", "Астана қаласы", "2022-09-19", None),
    ]


def test_parents_are_current_regions(con: duckdb.DuckDBPyConnection) -> None:
    orphans = scalar(con, """
        SELECT count(*) FROM entities c
        LEFT JOIN entities p ON p.entity_id = c.parent_id AND p.level = 'region'
                            AND p.valid_to IS NULL
        WHERE c.level <> 'region' AND p.entity_id IS NULL""")
    assert orphans == 0


def test_every_page_entity_exists(con: duckdb.DuckDBPyConnection) -> None:
    assert scalar(con, "SELECT count(*) FROM pages ANTI JOIN entities USING (entity_id)") == 0


def test_page_identities_unique(con: duckdb.DuckDBPyConnection) -> None:
    assert scalar(con, "SELECT count(*) - count(DISTINCT page_id) FROM pages") == 0
    assert scalar(con, "SELECT count(*) - count(DISTINCT (platform, platform_page_id)) "
                       "FROM pages") == 0


def test_regions_and_page_owners_have_population(con: duckdb.DuckDBPyConnection) -> None:
    missing = con.execute("""
        SELECT DISTINCT entity_id FROM (
            SELECT entity_id FROM entities WHERE level = 'region'
            UNION ALL
            SELECT entity_id FROM pages
            WHERE page_kind IN ('official_region', 'official_district'))
        ANTI JOIN populations USING (entity_id)""").fetchall()
    assert missing == []


def test_no_duplicate_keys(con: duckdb.DuckDBPyConnection) -> None:
    assert scalar(con, "SELECT count(*) - count(DISTINCT (entity_id, population_date)) "
                       "FROM populations") == 0
    assert scalar(con, "SELECT count(*) - count(DISTINCT (entity_id, alias)) FROM aliases") == 0


def test_capital_aliases_cover_both_names(con: duckdb.DuckDBPyConnection) -> None:
    aliases = {row[0] for row in con.execute(
        "SELECT alias FROM aliases WHERE entity_id = '710000000'").fetchall()}
    assert {"Астана", "Нур-Султан", "Нұр-Сұлтан", "г. Астана"} <= aliases


def test_enums(con: duckdb.DuckDBPyConnection) -> None:
    platforms = "('vk', 'ok', 'facebook', 'instagram', 'x', 'telegram', 'youtube')"
    assert scalar(con, f"SELECT count(*) FROM pages WHERE platform NOT IN {platforms}") == 0
    assert scalar(con, "SELECT count(*) FROM excluded_sources "
                       f"WHERE platform NOT IN {platforms}") == 0
    assert scalar(con, "SELECT count(*) FROM aliases WHERE lang NOT IN ('ru', 'kk')") == 0
    kinds = "('official_region', 'official_district', 'akim_personal', 'other')"
    assert scalar(con, f"SELECT count(*) FROM pages WHERE page_kind NOT IN {kinds}") == 0
