"""The real `weekly_ratings` DAG through Airflow (dag.test on SQLite metadata), real dbt, DuckDB
and Great Expectations, on the hand-made case of tests/hand_case.py."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from govpulse.orchestration.runner import run_weekly
from govpulse.settings import Paths
from tests import hand_case
from tests.support import write_files

WEEK1 = date(2026, 11, 13)
WEEK2 = date(2026, 11, 20)

WEEK2_MENTION = """
platform,mention_id,published_at,text,author_id,author_type,author_audience,source_id,likes,comments,reposts,views,sentiment,entity_id
vk,w2-1,2026-11-21 10:00,Ұлытау облысы жаңалықтары,a_p20,person,10,s30,,,,,neutral,
"""


@pytest.fixture(scope="module")
def runs(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Week 1, then week 2 (with one more file), then week 2 again with nothing new."""
    root = tmp_path_factory.mktemp("hand_case")
    paths = Paths.resolve(
        inbox=write_files(root / "inbox", hand_case.WEEK1_INBOX),
        registry=write_files(root / "registry", hand_case.REGISTRY),
        warehouse=root / "private" / "warehouse.duckdb",
        publish_dir=root / "publish",
    )
    outcomes = {"paths": paths, "week1": run_weekly(paths, WEEK1)}
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        outcomes["week1_quarantine"] = con.execute(
            "SELECT file, line, reason, raw_row FROM ops.quarantine ORDER BY file, line"
        ).fetchall()
    write_files(paths.inbox, {"mentions/2026-11-20.csv": WEEK2_MENTION})
    outcomes["week2"] = run_weekly(paths, WEEK2)
    outcomes["week2_again"] = run_weekly(paths, WEEK2)
    return outcomes


def _rows(paths: Paths, relation: str, columns: str, week: date) -> dict[str, tuple]:
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        rows = con.execute(
            f"SELECT unit_id, {columns} FROM marts.{relation} WHERE period_start = ?", [week]
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_every_run_succeeds(runs: dict) -> None:
    for name in ("week1", "week2", "week2_again"):
        assert runs[name].ok, f"{name}: {runs[name].reason}"


def test_people_rating_week1_matches_hand_computation(runs: dict) -> None:
    got = _rows(runs["paths"], "rating_people_weekly_current",
                "mentions, engagement, engagement_per_1k_pop, sentiment_audience_net, "
                "place_mentions, place_engagement, place_engagement_per_1k_pop, "
                "place_sentiment_audience_net, penalty_points, final_place, revision, movement",
                WEEK1)
    # the region that ended in 2022 is not rated; the three active ones are, even when silent
    assert set(got) == set(hand_case.PEOPLE)
    for unit, (mentions, engagement, per_pop, net, places, penalty, final) in (
        hand_case.PEOPLE.items()
    ):
        assert got[unit] == (mentions, engagement, pytest.approx(per_pop, abs=1e-9), net,
                             *places, penalty, final, 1, None), unit


@pytest.mark.parametrize(("relation", "expected"), [
    # the district page closed on 2026-11-01 is not rated
    ("rating_region_pages_weekly_current", hand_case.REGION_PAGES),
    ("rating_district_pages_weekly_current", hand_case.DISTRICT_PAGES),
])
def test_official_pages_week1_match_hand_computation(
    runs: dict, relation: str, expected: dict
) -> None:
    got = _rows(runs["paths"], relation,
                "subscribers, engagement, er_subscribers_pct, engagement_per_1k_pop, "
                "place_subscribers, place_engagement, place_er_subscribers_pct, "
                "place_engagement_per_1k_pop, penalty_points, final_place",
                WEEK1)
    assert set(got) == set(expected)
    for unit, (subs, engagement, er, per_pop, places, penalty, final) in expected.items():
        assert got[unit] == (subs, engagement, er, pytest.approx(per_pop, abs=1e-9),
                             *places, penalty, final), unit


def test_insta_akims_week1_match_hand_computation(runs: dict) -> None:
    got = _rows(runs["paths"], "rating_insta_akims_weekly_current",
                "real_subscribers, engaged_users, er_real_pct, place_real_subscribers, "
                "place_engaged_users, place_er_real_pct, penalty_points, final_place, "
                "bot_share, bots_unverified",
                WEEK1)
    # the akim's VK page is not an Instagram page: not rated here
    assert set(got) == set(hand_case.INSTA_AKIMS)
    for unit, (real, engaged, er, places, penalty, final, bots, unverified) in (
        hand_case.INSTA_AKIMS.items()
    ):
        assert got[unit] == (real, engaged, er, *places, penalty, final, bots, unverified), unit


def test_bad_rows_are_quarantined_with_file_line_and_reason(runs: dict) -> None:
    quarantined = runs["week1_quarantine"]
    assert [(f, line) for f, line, _, _ in quarantined] == [
        ("mentions/2026-11-13_d_bad.csv", 2), ("mentions/2026-11-13_d_bad.csv", 3)]
    assert "unparsable timestamp in published_at: not-a-date" in quarantined[0][2]
    assert "unknown sentiment: happy" in quarantined[1][2]
    # the published copy keeps file, line and reason, not the raw row (it may hold private data)
    assert all(raw is None for *_, raw in quarantined)
    assert runs["week1"].run["rows_quarantined"] == 2
    assert runs["week1"].run["status"] == "success"


def test_second_week_shows_movement_from_the_first(runs: dict) -> None:
    got = _rows(runs["paths"], "rating_people_weekly_current",
                "mentions, final_place, movement", WEEK2)
    # Week 2 holds m10 (Алматы, published 2026-11-20 00:30 local, 50 likes, positive 10) for B
    # and w2-1 (engagement 0, neutral) for C. Places: mentions B 1, C 1, A 3; engagement,
    # per 1k and net: B 1, A and C 2. Penalty B 4, C 7, A 9.
    # Movement = week-1 final place - week-2 final place.
    assert got == {"A": (0, 3, 1 - 3), "B": (1, 1, 1 - 1), "C": (1, 2, 3 - 2)}


def test_rerunning_a_week_publishes_nothing_new(runs: dict) -> None:
    again = runs["week2_again"].run
    assert again["status"] == "unchanged"
    assert again["revision_published"] is None
    assert again["files_skipped"] == len(hand_case.WEEK1_INBOX) + 1
    with duckdb.connect(str(runs["paths"].published_file), read_only=True) as con:
        revisions = con.execute(
            "SELECT period_start, max(revision), count(*) FROM marts.rating_people_weekly "
            "GROUP BY ALL ORDER BY 1"
        ).fetchall()
    assert revisions == [(WEEK1, 1, 3), (WEEK2, 1, 3)]


def test_published_files_hold_no_author_ids_or_texts(runs: dict) -> None:
    """Every author id and every text that was landed (or quarantined) stays private: no value of
    any table of the published file or its Parquet, and no published text file, holds one."""
    paths = runs["paths"]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        authors = [r[0] for r in con.execute(
            "SELECT DISTINCT author_id FROM raw.mentions WHERE author_id IS NOT NULL").fetchall()]
        # short texts can equal a region's name, which the ratings show
        texts = [r[0] for r in con.execute(
            "SELECT DISTINCT text FROM raw.mentions WHERE length(text) >= 15").fetchall()]
        quarantined = [r[0] for r in con.execute(
            "SELECT DISTINCT a FROM (SELECT CASE WHEN json_valid(raw_row) "
            "THEN raw_row ->> '$.author_id' END AS a FROM ops.quarantine "
            "WHERE dataset = 'mentions') WHERE a <> ''").fetchall()]
    secrets = {*authors, *texts, *quarantined}
    assert {"a_p1", "spam1", "Акимат Акмолинской области молодцы"} <= secrets
    assert quarantined

    published = [p for p in sorted(paths.publish_dir.rglob("*")) if p.is_file()]
    assert any(p.suffix == ".parquet" for p in published)
    # values, not bytes: a short id turns up by chance in any binary file (fonts, PNG charts)
    # dbt's docs page is the project's documentation (its minified app names variables x1, x2
    # like two quarantined authors here); the data-bearing pages are all searched
    dbt_docs = paths.publish_dir / "docs" / "dbt"
    found = [(p.name, p.read_text(errors="replace")) for p in published
             if p.suffix in TEXT_SUFFIXES and dbt_docs not in p.parents]
    found += published_values(paths.published_file, [p for p in published
                                                     if p.suffix == ".parquet"])
    leaks = sorted({(name, secret) for name, value in found for secret in secrets
                    if secret in value})
    assert leaks == []


TEXT_SUFFIXES = {".csv", ".html", ".json", ".md", ".txt", ".js", ".svg"}


def published_values(database: Path, parquet: list[Path]) -> list[tuple[str, str]]:
    """(where, text) of every text value in the published DuckDB file and the Parquet files."""
    out: list[tuple[str, str]] = []
    with duckdb.connect(str(database), read_only=True) as con:
        relations = [f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()]
        relations += [f"read_parquet('{p}')" for p in parquet]
        for relation in relations:
            rows = con.execute(f"SELECT concat_ws(chr(31), *COLUMNS(*)) "
                               f"FROM {relation}").fetchall()
            out += [(relation, row) for (row,) in rows]
    return out


def test_rows_carry_the_methodology_version_of_the_parameters(runs: dict) -> None:
    from govpulse import methodology

    with duckdb.connect(str(runs["paths"].published_file), read_only=True) as con:
        versions = {row[0] for mart in ("people", "region_pages", "district_pages",
                                         "insta_akims")
                    for row in con.execute(
                        f"SELECT DISTINCT methodology_version FROM marts.rating_{mart}_weekly"
                    ).fetchall()}
    assert versions == {methodology.version()}


EXPLAINED_WEEK1 = {
    "people": hand_case.PEOPLE,
    "region_pages": hand_case.REGION_PAGES,
    "district_pages": hand_case.DISTRICT_PAGES,
    "insta_akims": hand_case.INSTA_AKIMS,
}


def test_explanations_week1_match_hand_computation(runs: dict) -> None:
    """Every unit of every rating: one row per indicator with its hand-computed value and
    place; every weight is 1, so the points are the places and add up to the penalty."""
    with duckdb.connect(str(runs["paths"].published_file), read_only=True) as con:
        rows = con.execute(
            "SELECT rating, unit_id, indicator_number, value, place, units_rated, weight, "
            "points, penalty_points, final_place, revision "
            "FROM marts.rating_explanations_current WHERE period_start = ? ORDER BY ALL",
            [WEEK1],
        ).fetchall()
    got: dict[tuple[str, str], list[tuple]] = {}
    for rating, unit, *rest in rows:
        got.setdefault((rating, unit), []).append(tuple(rest))
    assert set(got) == {(r, u) for r, units in EXPLAINED_WEEK1.items() for u in units}
    for rating, units in EXPLAINED_WEEK1.items():
        for unit, expected in units.items():
            k = next(i for i, v in enumerate(expected) if isinstance(v, tuple))
            values, places, penalty, final = expected[:k], expected[k], *expected[k + 1:k + 3]
            assert got[(rating, unit)] == [
                (number, pytest.approx(value, abs=1e-9) if value is not None else None,
                 place, len(units), 1.0, float(place), penalty, final, 1)
                for number, (value, place) in enumerate(zip(values, places, strict=True), 1)
            ], (rating, unit)


def test_explanations_add_up_in_every_revision(runs: dict) -> None:
    with duckdb.connect(str(runs["paths"].published_file), read_only=True) as con:
        per_rating = con.execute(
            "SELECT rating, period_start, count(*) FROM marts.rating_explanations "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        not_adding_up = con.execute(
            "SELECT rating, period_start, revision, unit_id FROM marts.rating_explanations "
            "GROUP BY ALL HAVING abs(sum(points) - any_value(penalty_points)) > 1e-9"
        ).fetchall()
    # units × indicators: 3 regions × 4, 4 region pages × 4, 2 district pages × 4, 3 akims × 3
    assert per_rating == [
        (rating, week, rows)
        for rating, rows in (("district_pages", 8), ("insta_akims", 9), ("people", 12),
                             ("region_pages", 16))
        for week in (WEEK1, WEEK2)
    ]
    assert not_adding_up == []


def test_mention_exclusions_match_hand_computation(runs: dict) -> None:
    with duckdb.connect(str(runs["paths"].published_file), read_only=True) as con:
        rows = con.execute(
            "SELECT period_start, revision, reason, mentions "
            "FROM marts.rating_people_weekly_exclusions ORDER BY period_start, revision, step"
        ).fetchall()
        # each row carries the revision it explains, as published
        unmatched = con.execute(
            "SELECT DISTINCT period_start, revision FROM marts.rating_people_weekly_exclusions "
            "ANTI JOIN marts.rating_people_weekly "
            "USING (period_start, revision, published_at, methodology_version)"
        ).fetchall()
    got: dict[tuple[date, int], dict[str, int]] = {}
    for week, revision, reason, mentions in rows:
        got.setdefault((week, revision), {})[reason] = mentions
    # the unchanged re-run of week 2 published no revision, so it appended nothing
    assert got == {(WEEK1, 1): hand_case.PEOPLE_EXCLUSIONS_WEEK1,
                   (WEEK2, 1): hand_case.PEOPLE_EXCLUSIONS_WEEK2}
    assert list(got[(WEEK1, 1)]) == ["delivered", "outside_week", "not_person",
                                     "excluded_source", "spam_author", "eligible", "not_tied",
                                     "tied", "unit_mentions"]
    assert unmatched == []


def test_failed_validation_blocks_publishing_and_keeps_the_last_file(runs: dict) -> None:
    """Runs last: the VK fetch of week 2 reports its page not fetched (the API refused it).
    Landing records the report; the raw validation's page completeness fails, so nothing is
    published."""
    paths: Paths = runs["paths"]
    before = paths.published_file.read_bytes()
    report = {"platform": "vk", "period_start": WEEK2.isoformat(),
              "started_at": "2026-11-27T01:00:00+05:00",
              "pages": {"pA_vk": {"status": "not_fetched", "reason": "HTTP 503 after 3 tries"}}}
    write_files(paths.inbox, {
        f"api/vk/{WEEK2.isoformat()}/_fetch_report-20261127T010000.json": json.dumps(report)})
    outcome = run_weekly(paths, WEEK2)
    assert not outcome.ok
    assert "validate_raw" in outcome.reason and "fetch_completeness" in outcome.reason
    assert outcome.run["status"] == "failed"
    assert paths.published_file.read_bytes() == before
