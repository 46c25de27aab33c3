"""The real `annual_ratings` DAG (METHODOLOGY §7) on weeks published by the real weekly DAG: two
weeks of 2025 and one of 2026, the year's tables worked out by hand below (mean weekly places,
expert scores, ties, the year's three Insta-akims, movement between years)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from govpulse.orchestration.runner import run_dag
from govpulse.settings import Paths
from tests.support import write_files

WEEKS = (date(2025, 12, 19), date(2025, 12, 26), date(2026, 1, 2))  # the third is 2026's
Y2025, Y2026 = date(2025, 1, 1), date(2026, 1, 1)

REGISTRY = {
    "entities.csv": """
entity_id,level,name_ru,name_kk,parent_id
A,region,Область А,А облысы,
B,region,Область Б,,
C,region,Область В,,
D1,district,Район 1,,A
D2,district,Район 2,,A
D3,district,Район 3,,B
D4,district,Район 4,,C
""",
    "populations.csv": "entity_id,population,population_date\nA,1000,2020-01-01\n"
                       "B,1000,2020-01-01\nC,1000,2020-01-01\n",
    "pages.csv": """
page_id,platform,platform_page_id,entity_id,page_kind,owner_name
P1,instagram,ig1,D1,akim_personal,Аким 1
P2,instagram,ig2,D2,akim_personal,Аким 2
P3,instagram,ig3,D3,akim_personal,Аким 3
P4,instagram,ig4,D4,akim_personal,Аким 4
""",
    "aliases.csv": "entity_id,alias\n",
    "excluded_sources.csv": "platform,source_id,reason\n",
    # 2025 only: the people ranking A 9, C 7, B 5; Insta-akims P2 9, P4 8, P1 7, P3 1
    "expert_scores.csv": """
year,rating,unit_id,score
2025,people,A,9
2025,people,B,5
2025,people,C,7
2025,insta_akims,P1,7
2025,insta_akims,P2,9
2025,insta_akims,P3,1
2025,insta_akims,P4,8
""",
}

# Mentions per region and week: every mention 1 like, neutral, equal populations, so mentions,
# engagement and engagement per 1k give the same places and sentiment ties everyone: the weekly
# final place is the place by mentions.
#   week 1: A 3, B 2, C 1  -> A 1, B 2, C 3
#   week 2: A 1, B 2, C 2  -> B 1, C 1, A 3
#   week 3: A 1, B 0, C 3  -> C 1, A 2, B 3
COUNTS = ({"A": 3, "B": 2, "C": 1}, {"A": 1, "B": 2, "C": 2}, {"A": 1, "B": 0, "C": 3})


def _mentions() -> str:
    lines = ["platform,mention_id,published_at,author_id,author_type,likes,sentiment,entity_id"]
    for week, counts in zip(WEEKS, COUNTS, strict=True):
        for region, count in counts.items():
            lines += [f"vk,{week}-{region}-{i},{week} 12:00,{week}-{region}-{i},person,1,neutral,"
                      f"{region}" for i in range(count)]
    return "\n".join(lines) + "\n"


# One snapshot per Insta page covers all three weeks (28-day window): subscribers 400..100 and
# engaged 10 %, so every week P1..P4 place 1..4 (ER ties at 1).
SNAPSHOTS = "platform,platform_page_id,captured_at,subscribers,bot_share,engaged_users_7d\n"
SNAPSHOTS += "".join(f"instagram,ig{n},2025-12-24 12:00,{100 * (5 - n)},0,{10 * (5 - n)}\n"
                     for n in range(1, 5))

PEOPLE = ("mean_weekly_place, place_mean_weekly_place, expert_score, place_expert_score, "
          "penalty_points, final_place, movement, weeks_rated")
EXPECTED_2025_PEOPLE = {
    # means: A (1+3)/2 = 2, B (2+1)/2 = 1.5, C (3+1)/2 = 2; experts A 1, C 2, B 3
    "A": (2.0, 2, 9.0, 1, 3.0, 1, None, 2),
    "B": (1.5, 1, 5.0, 3, 4.0, 2, None, 2),
    "C": (2.0, 2, 7.0, 2, 4.0, 2, None, 2),
}
EXPECTED_2026_PEOPLE = {
    # one week, no expert scores: the place of the week; movement from 2025
    "A": (2.0, 2, None, None, 2.0, 2, 1 - 2, 1),
    "B": (3.0, 3, None, None, 3.0, 3, 2 - 3, 1),
    "C": (1.0, 1, None, None, 1.0, 1, 2 - 1, 1),
}
# Insta-akims 2025: means 1..4; experts P2 1, P4 2, P1 3, P3 4
#   P1 1 + 3 = 4, P2 2 + 1 = 3, P3 3 + 4 = 7, P4 4 + 2 = 6 -> P2, P1, P4 are the Insta-akims
EXPECTED_2025_INSTA = {"P1": (4.0, 2), "P2": (3.0, 1), "P3": (7.0, 4), "P4": (6.0, 3)}


@pytest.fixture(scope="module")
def years(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("annual")
    paths = Paths.resolve(
        inbox=write_files(root / "inbox", {"mentions/m.csv": _mentions(),
                                           "page_snapshots/s.csv": SNAPSHOTS}),
        registry=write_files(root / "registry", REGISTRY),
        warehouse=root / "private" / "warehouse.duckdb",
        publish_dir=root / "publish",
    )
    outcomes = {"too_early": run_dag("annual", paths, Y2025, docs=False)}
    outcomes["weeks"] = [run_dag("weekly", paths, week, docs=False) for week in WEEKS]
    # the annual tables rate published weeks: a file dropped now waits for the next weekly run
    write_files(paths.inbox, {"mentions/dropped_later.csv": _mentions()})
    outcomes["y2025"] = run_dag("annual", paths, Y2025, docs=False)
    outcomes["y2026"] = run_dag("annual", paths, Y2026, docs=False)
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        def table(year: date, rating: str, columns: str) -> dict[str, tuple]:
            rows = con.execute(
                f"SELECT unit_id, {columns} FROM marts.rating_annual_current "
                "WHERE period_start = ? AND rating = ?", [year, rating]).fetchall()
            return {row[0]: row[1:] for row in rows}

        outcomes["people_2025"] = table(Y2025, "people", PEOPLE)
        outcomes["people_2026"] = table(Y2026, "people", PEOPLE)
        outcomes["insta_2025"] = table(Y2025, "insta_akims", "penalty_points, final_place")
        outcomes["weekly_people"] = con.execute(
            "SELECT period_start, unit_id, final_place FROM marts.rating_people_weekly_current "
            "ORDER BY ALL").fetchall()
        outcomes["insta_akims_of_year"] = con.execute(
            "SELECT year, final_place, unit_id, unit_name FROM marts.insta_akims_of_year "
            "ORDER BY ALL").fetchall()
        outcomes["landed_files"] = [r[0] for r in con.execute(
            "SELECT file FROM ops.loaded_files ORDER BY file").fetchall()]
        outcomes["header"] = con.execute(
            "SELECT DISTINCT year, period_end, revision, unit_name, unit_name_kk "
            "FROM marts.rating_annual WHERE unit_id = 'A'").fetchall()
    return outcomes


def test_annual_before_any_published_week_fails_with_a_clear_reason(years: dict) -> None:
    assert not years["too_early"].ok


def test_every_run_publishes(years: dict) -> None:
    for outcome in [*years["weeks"], years["y2025"], years["y2026"]]:
        assert outcome.ok, outcome.reason
    assert years["y2025"].run["revision_published"] == 1


def test_weekly_places_are_the_hand_computed_inputs(years: dict) -> None:
    places = {(week, unit): place for week, unit, place in years["weekly_people"]}
    assert places == {
        (WEEKS[0], "A"): 1, (WEEKS[0], "B"): 2, (WEEKS[0], "C"): 3,
        (WEEKS[1], "A"): 3, (WEEKS[1], "B"): 1, (WEEKS[1], "C"): 1,
        (WEEKS[2], "A"): 2, (WEEKS[2], "B"): 3, (WEEKS[2], "C"): 1,
    }


def test_people_table_of_2025_with_expert_scores(years: dict) -> None:
    assert years["people_2025"] == EXPECTED_2025_PEOPLE
    assert sorted(years["header"]) == [(2025, Y2026, 1, "Область А", "А облысы"),
                                       (2026, date(2027, 1, 1), 1, "Область А", "А облысы")]


def test_people_table_of_2026_and_movement(years: dict) -> None:
    assert years["people_2026"] == EXPECTED_2026_PEOPLE


def test_insta_akims_of_2025(years: dict) -> None:
    assert years["insta_2025"] == EXPECTED_2025_INSTA
    assert [row for row in years["insta_akims_of_year"] if row[0] == 2025] == [
        (2025, 1, "P2", "Аким 2"), (2025, 2, "P1", "Аким 1"), (2025, 3, "P4", "Аким 4")]


def test_annual_runs_land_nothing(years: dict) -> None:
    assert "mentions/dropped_later.csv" not in years["landed_files"]
    assert "mentions/m.csv" in years["landed_files"]
