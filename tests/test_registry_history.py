"""A past period is rated with the registry as it was then, also when re-run today: through the
real weekly DAG, one registry that already holds the 2022 regions and the capital's renames
rates a 2020 week with the 2020 units and the name Nur-Sultan, and later weeks with the new
units and the name Astana (a week spanning the rename takes the name at its end)."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb
import pytest

from govpulse.orchestration.runner import run_weekly
from govpulse.settings import Paths
from tests.support import write_files

WEEK_2020 = date(2020, 11, 6)
WEEK_RENAME = date(2022, 9, 16)  # Nur-Sultan until Sunday 2022-09-18, Astana from the 19th
WEEK_AFTER = date(2022, 9, 23)

# The history is kept, never deleted: regions that ended on 2022-06-07, their successors from
# 2022-06-08, and one line per name of the capital (one entity).
REGISTRY = {
    "entities.csv": """
entity_id,level,name_ru,name_kk,parent_id,body_group,valid_from,valid_to
110000000,region,Акмолинская область,Ақмола облысы,,,,
190000000-2020,region,Алматинская область,Алматы облысы,,,,2022-06-07
190000000,region,Алматинская область,Алматы облысы,,,2022-06-08,
100000000,region,область Абай,Абай облысы,,,2022-06-08,
710000000,region,г. Астана,Астана қаласы,,,,2019-03-22
710000000,region,г. Нур-Султан,Нұр-Сұлтан қаласы,,,2019-03-23,2022-09-18
710000000,region,г. Астана,Астана қаласы,,,2022-09-19,
""",
    "populations.csv": """
entity_id,population,population_date
110000000,736735,2020-01-01
190000000-2020,2055724,2020-01-01
190000000,1505968,2023-01-01
100000000,610205,2023-01-01
710000000,1136156,2020-01-01
710000000,1354507,2023-01-01
""",
    # A page named after its entity (no owner_name) follows the entity's name; the old
    # region's page was closed with the region, the new region's page opened with it.
    "pages.csv": """
page_id,platform,platform_page_id,entity_id,page_kind,url,owner_name,active_from,active_to
p-capital,telegram,tg_capital,710000000,official_region,,,,
p-almaty-old,telegram,tg_almaty_old,190000000-2020,official_region,,,,2022-06-07
p-almaty,telegram,tg_almaty,190000000,official_region,,,2022-06-08,
""",
    "aliases.csv": """
entity_id,alias,lang
710000000,Астана,ru
710000000,Нур-Султан,ru
""",
    "excluded_sources.csv": "platform,source_id,reason\n",
}

MENTIONS = (
    "platform,mention_id,published_at,text,author_id,author_type,likes,sentiment,entity_id\n"
    # tied by alias: the old name in 2020, the new one in the rename week
    "vk,m2020,2020-11-07 12:00,Нур-Султан строит,a1,person,1,neutral,\n"
    "vk,m-rename,2022-09-20 12:00,Астана снова Астана,a2,person,1,positive,\n"
    "vk,m-after,2022-09-24 12:00,x,a3,person,1,neutral,100000000\n"
)

CAPITAL_SNAPSHOTS = (
    "platform,platform_page_id,captured_at,subscribers\n"
    "telegram,tg_capital,2020-11-07 12:00,1000\n"
    "telegram,tg_capital,2022-09-17 12:00,2000\n"
    "telegram,tg_capital,2022-09-24 12:00,2100\n"
)

OLD_UNITS = {
    "110000000": "Акмолинская область",
    "190000000-2020": "Алматинская область",
    "710000000": "г. Нур-Султан",
}
NEW_UNITS = {
    "100000000": "область Абай",
    "110000000": "Акмолинская область",
    "190000000": "Алматинская область",
    "710000000": "г. Астана",
}


@pytest.fixture(scope="module")
def published(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("registry_history")
    registry = write_files(root / "registry", REGISTRY)
    # the capital's page has a snapshot each week: a page rating without any input is blocked
    inbox = write_files(root / "inbox", {"mentions/m.csv": MENTIONS,
                                         "page_snapshots/s.csv": CAPITAL_SNAPSHOTS})
    paths = Paths.resolve(inbox=inbox, registry=registry, warehouse=root / "w.duckdb",
                          publish_dir=root / "publish")
    # The newest week first: the 2020 week is rated after the warehouse has seen the new units.
    outcomes = {week: run_weekly(paths, week, docs=False)
                for week in (WEEK_AFTER, WEEK_2020, WEEK_RENAME)}
    assert all(o.ok for o in outcomes.values()), {w: o.reason for w, o in outcomes.items()}
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        people = con.execute(
            "SELECT period_start, unit_id, unit_name, unit_name_kk, mentions "
            "FROM marts.rating_people_weekly ORDER BY ALL"
        ).fetchall()
        pages = con.execute(
            "SELECT period_start, unit_id, unit_name, entity_name "
            "FROM marts.rating_region_pages_weekly ORDER BY ALL"
        ).fetchall()
        loads = con.execute(
            "SELECT r.period_start, l.file, l.sha256, l.rows FROM ops.registry_loads l "
            "JOIN ops.runs r USING (run_id) ORDER BY ALL"
        ).fetchall()
    return {"people": people, "pages": pages, "loads": loads, "registry": registry}


def _names(rows: list[tuple], week: date) -> dict[str, str]:
    return {unit: name for period, unit, name, *_ in rows if period == week}


def test_2020_week_has_the_2020_units_and_names(published: dict) -> None:
    assert _names(published["people"], WEEK_2020) == OLD_UNITS
    kk = {unit: name_kk for period, unit, _, name_kk, _ in published["people"]
          if period == WEEK_2020}
    assert kk["710000000"] == "Нұр-Сұлтан қаласы"
    mentions = {unit: n for period, unit, _, _, n in published["people"] if period == WEEK_2020}
    assert mentions == {"110000000": 0, "190000000-2020": 0, "710000000": 1}


def test_weeks_after_the_switch_have_the_new_units_and_astana(published: dict) -> None:
    assert _names(published["people"], WEEK_AFTER) == NEW_UNITS
    # renamed mid-week: one row, under the name in force at the week's end
    assert _names(published["people"], WEEK_RENAME) == NEW_UNITS


def test_pages_follow_their_entity_and_their_own_dates(published: dict) -> None:
    assert _names(published["pages"], WEEK_2020) == {
        "p-almaty-old": "Алматинская область", "p-capital": "г. Нур-Султан"}
    for week in (WEEK_RENAME, WEEK_AFTER):
        assert _names(published["pages"], week) == {
            "p-almaty": "Алматинская область", "p-capital": "г. Астана"}


def test_each_run_records_the_registry_it_used(published: dict) -> None:
    registry: Path = published["registry"]
    files = sorted(REGISTRY)
    expected = [
        (week, name, hashlib.sha256((registry / name).read_bytes()).hexdigest(),
         len(REGISTRY[name].strip().splitlines()) - 1)
        for week in sorted((WEEK_2020, WEEK_RENAME, WEEK_AFTER)) for name in files
    ]
    assert published["loads"] == expected


def test_fetch_lists_each_page_and_alias_once_in_a_rename_week(tmp_path: Path) -> None:
    """Two versions of the capital are active in the rename week: fetch must not double it."""
    from ingestion.connectors.fetch import region_aliases, registry_pages
    from ingestion.connectors.native import Period

    registry = write_files(tmp_path / "registry", REGISTRY)
    pages = registry_pages(registry, "telegram", Period(WEEK_RENAME))
    assert [p.page_id for p in pages] == ["p-almaty", "p-capital"]
    assert region_aliases(registry, Period(WEEK_RENAME)) == [
        ("710000000", "Астана"), ("710000000", "Нур-Султан")]
    assert [p.page_id for p in registry_pages(registry, "telegram", Period(WEEK_2020))] == [
        "p-almaty-old", "p-capital"]
