"""Published ratings are never rewritten: a late file publishes revision 2 of its week, revision
1 stays queryable, `_current` shows revision 2, and the next week's movement follows it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from govpulse.orchestration.runner import run_weekly
from govpulse.settings import Paths
from tests.support import two_region_registry, write_files

WEEK1, WEEK2 = date(2026, 11, 6), date(2026, 11, 13)
HEADER = ("platform,mention_id,published_at,text,author_id,author_type,likes,sentiment,"
          "entity_id\n")


def mentions(week: date, prefix: str, entity: str, count: int) -> str:
    day = f"{week.year}-{week.month:02d}-{week.day + 1:02d} 12:00"
    return "".join(f"vk,{prefix}{i},{day},x,a{prefix}{i},person,1,neutral,{entity}\n"
                   for i in range(count))


@pytest.fixture(scope="module")
def history(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("revisions")
    registry = two_region_registry(root / "registry")
    inbox = write_files(root / "inbox", {
        "mentions/w1.csv": HEADER + mentions(WEEK1, "a", "A", 2) + mentions(WEEK1, "b", "B", 1),
        "mentions/w2.csv": HEADER + mentions(WEEK2, "c", "B", 1),
    })
    paths = Paths.resolve(inbox=inbox, registry=registry, warehouse=root / "w.duckdb",
                          publish_dir=root / "publish")
    outcomes = [run_weekly(paths, WEEK1, docs=False), run_weekly(paths, WEEK2, docs=False)]
    write_files(inbox, {"mentions/w1_late.csv": HEADER + mentions(WEEK1, "late", "B", 3)})
    outcomes += [run_weekly(paths, WEEK1, docs=False), run_weekly(paths, WEEK2, docs=False)]
    assert all(o.ok for o in outcomes), [o.reason for o in outcomes]
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        rows = con.execute(
            "SELECT period_start, revision, unit_id, mentions, final_place, movement "
            "FROM marts.rating_people_weekly ORDER BY ALL"
        ).fetchall()
        current = con.execute(
            "SELECT period_start, revision, unit_id, final_place, movement "
            "FROM marts.rating_people_weekly_current ORDER BY ALL"
        ).fetchall()
        exclusions = con.execute(
            "SELECT period_start, revision, mentions FROM marts.rating_people_weekly_exclusions "
            "WHERE reason = 'delivered' ORDER BY ALL"
        ).fetchall()
        explained = {
            relation: con.execute(
                f"SELECT period_start, revision, unit_id, value, place FROM marts.{relation} "
                "WHERE rating = 'people' AND indicator = 'mentions' ORDER BY ALL"
            ).fetchall()
            for relation in ("rating_explanations", "rating_explanations_current")
        }
    return {"outcomes": outcomes, "rows": rows, "current": current, "exclusions": exclusions,
            "explained": explained}


def test_late_file_publishes_revision_2_and_keeps_revision_1(history: dict) -> None:
    assert [o.run["revision_published"] for o in history["outcomes"]] == [1, 1, 2, 2]
    assert history["rows"] == [
        # week 1, revision 1: A 2 mentions, B 1 -> A first
        (WEEK1, 1, "A", 2, 1, None), (WEEK1, 1, "B", 1, 2, None),
        # week 1, revision 2 after 3 late mentions of B -> B first
        (WEEK1, 2, "A", 2, 2, None), (WEEK1, 2, "B", 4, 1, None),
        # week 2, revision 1: movement against week 1 revision 1
        (WEEK2, 1, "A", 0, 2, 1 - 2), (WEEK2, 1, "B", 1, 1, 2 - 1),
        # week 2, revision 2: same inputs, movement now against week 1 revision 2
        (WEEK2, 2, "A", 0, 2, 2 - 2), (WEEK2, 2, "B", 1, 1, 1 - 1),
    ]


def test_current_views_show_the_latest_revision(history: dict) -> None:
    assert history["current"] == [
        (WEEK1, 2, "A", 2, None), (WEEK1, 2, "B", 1, None),
        (WEEK2, 2, "A", 2, 0), (WEEK2, 2, "B", 1, 0),
    ]


def test_every_revision_is_explained(history: dict) -> None:
    # P1 (value, place) of every published revision, revision 1 of week 1 included
    assert history["explained"]["rating_explanations"] == [
        (WEEK1, 1, "A", 2.0, 1), (WEEK1, 1, "B", 1.0, 2),
        (WEEK1, 2, "A", 2.0, 2), (WEEK1, 2, "B", 4.0, 1),
        (WEEK2, 1, "A", 0.0, 2), (WEEK2, 1, "B", 1.0, 1),
        (WEEK2, 2, "A", 0.0, 2), (WEEK2, 2, "B", 1.0, 1),
    ]
    assert history["explained"]["rating_explanations_current"] == [
        (WEEK1, 2, "A", 2.0, 2), (WEEK1, 2, "B", 4.0, 1),
        (WEEK2, 2, "A", 0.0, 2), (WEEK2, 2, "B", 1.0, 1),
    ]
    # exclusions are appended with each new revision: week 1's files delivered 3 mentions,
    # then 6 with the late file; week 2's file 1 (its revision 2 changed movement only)
    assert history["exclusions"] == [(WEEK1, 1, 3), (WEEK1, 2, 6), (WEEK2, 1, 1), (WEEK2, 2, 1)]
