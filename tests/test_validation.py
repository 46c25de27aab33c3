"""govpulse.validation with real Great Expectations and a real DuckDB warehouse file."""

from __future__ import annotations

import json
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from govpulse import methodology, validation
from govpulse import validation_suites as vs

PERIOD = date(2026, 11, 13)  # a Friday; period_end 2026-11-20
RUN = "run-2"

LINEAGE = "_load_id BIGINT, _run_id VARCHAR, _file VARCHAR, _line BIGINT, _loaded_at TIMESTAMPTZ"

# columns of docs/interfaces.md
DDL = f"""
SET TimeZone = 'Asia/Almaty';
CREATE SCHEMA registry; CREATE SCHEMA raw; CREATE SCHEMA intermediate;

CREATE TABLE registry.entities (entity_id VARCHAR, level VARCHAR, name_ru VARCHAR,
    name_kk VARCHAR, parent_id VARCHAR, body_group VARCHAR, valid_from DATE, valid_to DATE);
CREATE TABLE registry.pages (page_id VARCHAR, platform VARCHAR, platform_page_id VARCHAR,
    entity_id VARCHAR, page_kind VARCHAR, url VARCHAR, owner_name VARCHAR, active_from DATE,
    active_to DATE);

CREATE TABLE raw.mentions (platform VARCHAR, mention_id VARCHAR, published_at TIMESTAMPTZ,
    url VARCHAR, text VARCHAR, author_id VARCHAR, author_type VARCHAR, author_audience BIGINT,
    source_id VARCHAR, likes BIGINT, comments BIGINT, reposts BIGINT, views BIGINT,
    sentiment VARCHAR, entity_id VARCHAR, {LINEAGE});
CREATE TABLE raw.page_snapshots (platform VARCHAR, platform_page_id VARCHAR,
    captured_at TIMESTAMPTZ, subscribers BIGINT, bot_share DOUBLE, engaged_users_7d BIGINT,
    {LINEAGE});
CREATE TABLE raw.page_posts (platform VARCHAR, platform_page_id VARCHAR, post_id VARCHAR,
    published_at TIMESTAMPTZ, captured_at TIMESTAMPTZ, likes BIGINT, comments BIGINT,
    reposts BIGINT, views BIGINT, {LINEAGE});
CREATE TABLE raw.post_interactions (platform VARCHAR, platform_page_id VARCHAR,
    post_id VARCHAR, user_id VARCHAR, kind VARCHAR, "at" TIMESTAMPTZ, {LINEAGE});
CREATE TABLE raw.follower_audits (platform VARCHAR, platform_page_id VARCHAR,
    captured_at TIMESTAMPTZ, follower_id VARCHAR, username VARCHAR, has_avatar BOOLEAN,
    posts_count BIGINT, followers_count BIGINT, following_count BIGINT, {LINEAGE});

CREATE TABLE intermediate.int_people_ranked (period_start DATE, period_end DATE,
    methodology_version VARCHAR, unit_id VARCHAR, unit_name VARCHAR, unit_name_kk VARCHAR,
    mentions BIGINT, engagement HUGEINT, engagement_per_1k_pop DOUBLE,
    sentiment_audience_net BIGINT, place_mentions INTEGER, place_engagement INTEGER,
    place_engagement_per_1k_pop INTEGER, place_sentiment_audience_net INTEGER,
    penalty_points DOUBLE, final_place INTEGER);
CREATE TABLE intermediate.int_region_pages_ranked (period_start DATE, period_end DATE,
    methodology_version VARCHAR, unit_id VARCHAR, unit_name VARCHAR, unit_name_kk VARCHAR,
    platform VARCHAR, entity_id VARCHAR, url VARCHAR, subscribers BIGINT, engagement BIGINT,
    er_subscribers_pct DOUBLE, engagement_per_1k_pop DOUBLE, place_subscribers INTEGER,
    place_engagement INTEGER, place_er_subscribers_pct INTEGER,
    place_engagement_per_1k_pop INTEGER, penalty_points DOUBLE, final_place INTEGER);
CREATE TABLE intermediate.int_district_pages_ranked AS
    SELECT * FROM intermediate.int_region_pages_ranked LIMIT 0;
CREATE TABLE intermediate.int_insta_akims_ranked (period_start DATE, period_end DATE,
    methodology_version VARCHAR, unit_id VARCHAR, unit_name VARCHAR, unit_name_kk VARCHAR,
    platform VARCHAR, entity_id VARCHAR, url VARCHAR, subscribers BIGINT, bot_share DOUBLE,
    bots_unverified BOOLEAN, real_subscribers DOUBLE, engaged_users BIGINT, er_real_pct DOUBLE,
    place_real_subscribers INTEGER, place_engaged_users INTEGER, place_er_real_pct INTEGER,
    penalty_points DOUBLE, final_place INTEGER);
"""

DATA = """
INSERT INTO registry.entities VALUES
    ('r-ala', 'region', 'Алматы', NULL, NULL, NULL, NULL, NULL),
    ('r-ast', 'region', 'Астана', NULL, NULL, NULL, '2020-01-01', NULL),
    ('r-old', 'region', 'Упразднённая', NULL, NULL, NULL, NULL, '2026-11-12'),
    ('r-new', 'region', 'Будущая', NULL, NULL, NULL, '2026-11-20', NULL),
    ('d-one', 'district', 'Район', NULL, 'r-ala', NULL, NULL, '2026-11-13');
INSERT INTO registry.pages VALUES
    ('p-ala-vk', 'vk', '1', 'r-ala', 'official_region', NULL, NULL, NULL, NULL),
    ('p-ast-ig', 'instagram', 'ast', 'r-ast', 'official_region', NULL, NULL, NULL, NULL),
    ('p-old-vk', 'vk', '2', 'r-old', 'official_region', NULL, NULL, NULL, NULL),
    ('p-d1-fb', 'facebook', '3', 'd-one', 'official_district', NULL, NULL, NULL, NULL),
    ('p-d1-akim', 'instagram', 'akim', 'd-one', 'akim_personal', NULL, NULL, NULL, NULL),
    ('p-d1-tg', 'telegram', 'akim', 'd-one', 'akim_personal', NULL, NULL, NULL, NULL),
    ('p-d1-gone', 'instagram', 'gone', 'd-one', 'akim_personal', NULL, NULL, NULL,
     '2026-11-12');

-- an earlier run left a bad row: it must not fail this run
INSERT INTO raw.mentions VALUES
    ('myspace', 'm0', '2026-11-10 10:00', NULL, 'old', 'a0', 'person', NULL, NULL, -1, NULL,
     NULL, NULL, 'neutral', NULL, 1, 'run-1', 'mentions/a.csv', 2, now());
INSERT INTO raw.mentions
    SELECT 'vk', 'm' || i, TIMESTAMPTZ '2026-11-14 10:00:00+05' + i * INTERVAL 1 MINUTE,
           NULL, 'Алматы хорошо', 'a' || (i % 7), 'person', 100, 's' || (i % 3), i, 0, NULL,
           10 * i, 'positive', 'r-ala', 2, 'run-2', 'mentions/b.csv', i + 1, now()
    FROM range(1, 51) t(i);
INSERT INTO raw.page_snapshots VALUES
    ('vk', '1', '2026-11-19 12:00', 1000, 0.1, 50, 3, 'run-2', 'page_snapshots/s.csv', 2, now()),
    ('instagram', 'akim', '2026-11-19 12:00', 500, NULL, NULL, 3, 'run-2',
     'page_snapshots/s.csv', 3, now());
INSERT INTO raw.page_posts VALUES
    ('vk', '1', 'p1', '2026-11-14 09:00', '2026-11-19 12:00', 5, 1, 0, 100, 4, 'run-2',
     'page_posts/p.jsonl', 1, now()),
    ('vk', '1', 'p2', '2026-11-15 09:00', '2026-11-19 12:00', 7, NULL, NULL, NULL, 4, 'run-2',
     'page_posts/p.jsonl', 2, now());
INSERT INTO raw.post_interactions VALUES
    ('instagram', 'akim', 'x1', 'u1', 'like', '2026-11-14 09:00', 5, 'run-2',
     'post_interactions/i.json', 1, now()),
    ('instagram', 'akim', 'x1', 'u2', 'comment', NULL, 5, 'run-2',
     'post_interactions/i.json', 2, now());
-- raw.follower_audits: no rows in this run (suite skipped)

INSERT INTO intermediate.int_people_ranked VALUES
    ('2026-11-13', '2026-11-20', 'v1', 'r-ala', 'Алматы', NULL, 50, 1275, 0.6, 5000,
     1, 1, 1, 1, 4, 1),
    ('2026-11-13', '2026-11-20', 'v1', 'r-ast', 'Астана', NULL, 0, 0, 0, 0, 2, 2, 2, 2, 8, 2),
    -- an earlier period (other units): not validated now
    ('2026-11-06', '2026-11-13', 'v1', 'r-old', 'Упразднённая', NULL, 0, 0, NULL, 0,
     1, 1, 1, 1, 99, 1);
INSERT INTO intermediate.int_region_pages_ranked VALUES
    ('2026-11-13', '2026-11-20', 'v1', 'p-ala-vk', 'Алматы', NULL, 'vk', 'r-ala', NULL,
     1000, 13, 1.3, 0.01, 1, 1, 1, 1, 4, 1),
    ('2026-11-13', '2026-11-20', 'v1', 'p-ast-ig', 'Астана', NULL, 'instagram', 'r-ast', NULL,
     NULL, 0, NULL, 0, 2, 2, 2, 2, 8, 2);
INSERT INTO intermediate.int_district_pages_ranked VALUES
    ('2026-11-13', '2026-11-20', 'v1', 'p-d1-fb', 'Район', NULL, 'facebook', 'd-one', NULL,
     10, 1, 10, 0.2, 1, 1, 1, 1, 4, 1);
INSERT INTO intermediate.int_insta_akims_ranked VALUES
    ('2026-11-13', '2026-11-20', 'v1', 'p-d1-akim', 'Район', NULL, 'instagram', 'd-one', NULL,
     500, 0, TRUE, 500, 2, 0.4, 1, 1, 1, 3, 1);
"""


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(DDL)
        con.execute(DATA)
    return path


@pytest.fixture
def warehouse(template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(template, path)
    return path


def sql(warehouse: Path, statement: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute(statement)


def failing(report: validation.ValidationReport) -> set[tuple[str, str, str | None]]:
    return {(r.suite, r.expectation, r.column) for r in report.failures()}


# ---- suites ----
def test_committed_suites_equal_code() -> None:
    folder = vs.CONTEXT_ROOT / "expectations"
    committed = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}
    built = vs.build_suites()
    assert committed.keys() == built.keys(), "run: uv run python -m govpulse.validation_suites"
    for name, suite in built.items():
        assert vs.normalized(committed[name]) == vs.normalized(suite.to_json_dict()), (
            f"{name}: committed JSON is stale; run: uv run python -m govpulse.validation_suites"
        )


def test_rating_indicators_match_methodology_weights() -> None:
    for rating in vs.RATINGS.values():
        assert [c.name for c in rating.indicators] == list(methodology.weights(rating.key))


# ---- raw ----
def test_good_raw_passes_and_is_recorded(warehouse: Path) -> None:
    started = time.perf_counter()
    report = validation.validate_raw(warehouse, RUN, PERIOD)
    print(f"validate_raw: {time.perf_counter() - started:.2f}s")
    assert report.success, report.summary()
    # follower audits: no rows in the run; fetch completeness: no connector ran
    assert report.skipped() == ["raw_follower_audits", "fetch_completeness"]
    assert report.summary().startswith("raw: ")
    assert "expectations passed" in report.summary()
    assert len(report.results) > 40

    validation.record(warehouse, report)
    validation.record(warehouse, report)  # appends (history of validations)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE success), "
            "count(*) FILTER (WHERE expectation = 'suite_skipped'), min(validated_at) "
            "FROM ops.validations WHERE run_id = ?",
            [RUN],
        ).fetchone()
        types = {r[0]: r[1] for r in con.execute("DESCRIBE ops.validations").fetchall()}
    assert rows[0] == rows[1] == 2 * len(report.results)
    assert rows[2] == 4  # two records of two skipped suites
    assert rows[3] is not None
    assert types["success"] == "BOOLEAN"
    assert types["validated_at"] == "TIMESTAMP WITH TIME ZONE"


def test_unknown_platform_fails(warehouse: Path) -> None:
    sql(
        warehouse,
        "UPDATE raw.mentions SET platform = 'myspace' WHERE _run_id = 'run-2' AND _line = 7",
    )
    report = validation.validate_raw(warehouse, RUN, PERIOD)
    assert not report.success
    fails = failing(report)
    assert ("raw_mentions", "expect_column_values_to_be_in_set", "platform") in fails
    assert (
        "raw_mentions",
        "expect_column_max_to_be_between",
        "platform__not_in_set_count",
    ) in fails
    first = report.failures()[0]
    assert (first.suite, first.column) == ("raw_mentions", "platform")
    assert "myspace" in first.observed_value and "mentions/b.csv" in first.observed_value
    assert "raw_mentions expect_column_values_to_be_in_set(platform)" in report.summary()


def test_negative_likes_fail(warehouse: Path) -> None:
    sql(warehouse, "UPDATE raw.page_posts SET likes = -3 WHERE post_id = 'p2'")
    report = validation.validate_raw(warehouse, RUN, PERIOD)
    fails = failing(report)
    assert ("raw_page_posts", "expect_column_values_to_be_between", "likes") in fails
    assert (
        "raw_page_posts",
        "expect_column_max_to_be_between",
        "likes__out_of_range_count",
    ) in fails
    assert {f[0] for f in fails} == {"raw_page_posts"}


def test_sample_is_bounded_and_totals_cover_the_whole_run(warehouse: Path) -> None:
    sql(warehouse, "UPDATE raw.mentions SET likes = -1 WHERE _run_id = 'run-2'")
    sql(warehouse, "UPDATE raw.mentions SET likes = 1 WHERE _run_id = 'run-2' AND _line > 2")
    reports = [validation.validate_raw(warehouse, RUN, PERIOD, sample_rows=5) for _ in range(2)]
    sample = [
        json.loads(r.details)
        for r in reports[0].results
        if r.suite == "raw_mentions" and json.loads(r.details or "{}").get("frame") == "sample"
    ][0]
    assert (sample["frame_rows"], sample["run_rows"], sample["sample_limit"]) == (5, 50, 5)
    # the whole-run aggregate finds the one bad row whether or not it was sampled
    assert (
        "raw_mentions",
        "expect_column_max_to_be_between",
        "likes__out_of_range_count",
    ) in failing(reports[0])
    assert reports[0].results == reports[1].results  # deterministic sample


def test_missing_raw_table_and_unknown_run_are_skipped(warehouse: Path) -> None:
    sql(warehouse, "DROP TABLE raw.follower_audits")
    report = validation.validate_raw(warehouse, "no-such-run", PERIOD)
    assert report.success
    assert len(report.skipped()) == 6  # 5 raw datasets + fetch completeness
    assert report.summary().startswith("raw: 0/0 expectations passed (6 skipped")


# ---- candidates ----
def test_good_candidates_pass(warehouse: Path) -> None:
    started = time.perf_counter()
    report = validation.validate_candidates(warehouse, RUN, PERIOD)
    print(f"validate_candidates: {time.perf_counter() - started:.2f}s")
    assert report.success, report.summary()
    assert {r.suite for r in report.results} == set(vs.RATINGS)
    # not required: the region that ended before the period (r-old), the one starting at
    # period_end (r-new), the page of r-old, the telegram akim page and the akim page closed
    # the day before the period; required: the district valid to period_start (d-one)
    assert report.summary() == (
        f"candidates: {len(report.results)}/{len(report.results)} expectations passed"
    )
    validation.record(warehouse, report)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        recorded = con.execute(
            "SELECT count(*) FROM ops.validations WHERE run_id = ? AND suite = 'people_ranked'",
            [RUN],
        ).fetchone()[0]
    assert recorded == sum(r.suite == "people_ranked" for r in report.results) > 20


def test_duplicate_unit_fails(warehouse: Path) -> None:
    sql(
        warehouse,
        "INSERT INTO intermediate.int_region_pages_ranked "
        "SELECT * FROM intermediate.int_region_pages_ranked WHERE unit_id = 'p-ala-vk'",
    )
    report = validation.validate_candidates(warehouse, RUN, PERIOD)
    fails = failing(report)
    assert ("region_pages_ranked", "expect_column_values_to_be_unique", "unit_id") in fails
    assert {f[0] for f in fails} == {"region_pages_ranked"}


def test_penalty_points_mismatch_fails(warehouse: Path) -> None:
    sql(
        warehouse,
        "UPDATE intermediate.int_people_ranked SET penalty_points = 5 WHERE unit_id = 'r-ala'",
    )
    report = validation.validate_candidates(warehouse, RUN, PERIOD)
    assert failing(report) == {
        ("people_ranked", "expect_column_values_to_be_in_set", "penalty_mismatch")
    }
    (failure,) = report.failures()
    assert "r-ala" in failure.observed_value and "5.0" in failure.observed_value


def test_active_region_missing_fails(warehouse: Path) -> None:
    sql(warehouse, "DELETE FROM intermediate.int_people_ranked WHERE unit_id = 'r-ast'")
    report = validation.validate_candidates(warehouse, RUN, PERIOD)
    assert failing(report) == {("people_ranked", "expect_column_values_to_be_in_set", "missing")}
    assert "r-ast" in report.failures()[0].observed_value
    assert "people_ranked expect_column_values_to_be_in_set(missing)" in report.summary()


def test_inactive_region_not_required_but_not_allowed(warehouse: Path) -> None:
    # r-old (valid_to before the period) is absent: fine (the good case); present: unexpected
    sql(
        warehouse,
        "INSERT INTO intermediate.int_people_ranked VALUES ('2026-11-13', '2026-11-20', 'v1', "
        "'r-old', 'Упразднённая', NULL, 0, 0, 0, 0, 2, 2, 2, 2, 8, 2)",
    )
    report = validation.validate_candidates(warehouse, RUN, PERIOD)
    assert failing(report) == {("people_ranked", "expect_column_values_to_be_in_set", "unexpected")}
    assert "r-old" in report.failures()[0].observed_value


def test_missing_candidate_table_fails(warehouse: Path) -> None:
    sql(warehouse, "DROP TABLE intermediate.int_insta_akims_ranked")
    report = validation.validate_candidates(warehouse, RUN, PERIOD)
    (failure,) = report.failures()
    assert (failure.suite, failure.expectation) == ("insta_akims_ranked", "table_exists")
    assert "intermediate.int_insta_akims_ranked does not exist" in failure.observed_value
    assert "insta_akims_ranked table_exists" in report.summary()
