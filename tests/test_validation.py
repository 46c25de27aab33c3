"""govpulse.quality.validation with real Great Expectations and a real DuckDB warehouse file."""

from __future__ import annotations

import json
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from govpulse import methodology
from govpulse.orchestration.credentials import configured_platforms
from govpulse.quality import suites as vs
from govpulse.quality import validation
from govpulse.warehouse.schema import API_CAPTURES_DDL
from ingestion.connectors.fetch import fetch_platform
from ingestion.connectors.native import API_FOLDER
from ingestion.native_landing import REPORT_PREFIX, discover_api_files, land_api_file
from tests.platform_servers import BrokenServer, Reply, serve
from tests.platform_servers.vk import Community, VkServer
from tests.support import write_files

PERIOD = date(2026, 11, 13)  # a Friday; period_end 2026-11-20
MONTH = date(2026, 11, 1)  # period_end 2026-12-01
YEAR = date(2026, 1, 1)  # period_end 2027-01-01
RUN = "run-2"

LINEAGE = "_load_id BIGINT, _run_id VARCHAR, _file VARCHAR, _line BIGINT, _loaded_at TIMESTAMPTZ"

# columns of docs/interfaces.md
DDL = f"""
SET TimeZone = 'Asia/Almaty';
CREATE SCHEMA registry; CREATE SCHEMA raw; CREATE SCHEMA intermediate; CREATE SCHEMA marts;

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
CREATE TABLE raw.incidents (incident_id VARCHAR, detected_at TIMESTAMPTZ, body_id VARCHAR,
    platform VARCHAR, url VARCHAR, category VARCHAR, municipality_id VARCHAR,
    first_response_at TIMESTAMPTZ, resolved_at TIMESTAMPTZ, answer_quality INTEGER,
    satisfaction VARCHAR, {LINEAGE});

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

-- monthly (METHODOLOGY §5)
CREATE TABLE intermediate.int_incidents_month (incident_id VARCHAR, body_id VARCHAR,
    body_group VARCHAR, detected_at TIMESTAMPTZ);
CREATE TABLE intermediate.int_incidents_ranked (period_start DATE, period_end DATE,
    methodology_version VARCHAR, unit_id VARCHAR, unit_name VARCHAR, unit_name_kk VARCHAR,
    body_group VARCHAR, incidents BIGINT, answered_pct DOUBLE, overdue_pct DOUBLE,
    avg_response_minutes DOUBLE, resolved_count BIGINT, resolved_satisfied_pct DOUBLE,
    answer_quality_avg DOUBLE, place_avg_response_minutes INTEGER,
    place_resolved_count INTEGER, place_resolved_satisfied_pct INTEGER,
    place_answer_quality_avg INTEGER, penalty_points DOUBLE, final_place INTEGER);

-- annual (METHODOLOGY §7): the weekly marts' current views (only the columns read here)
CREATE TABLE marts.rating_people_weekly_current (period_start DATE, unit_id VARCHAR,
    final_place INTEGER);
CREATE TABLE marts.rating_region_pages_weekly_current AS
    SELECT * FROM marts.rating_people_weekly_current LIMIT 0;
CREATE TABLE marts.rating_district_pages_weekly_current AS
    SELECT * FROM marts.rating_people_weekly_current LIMIT 0;
CREATE TABLE marts.rating_insta_akims_weekly_current AS
    SELECT * FROM marts.rating_people_weekly_current LIMIT 0;
CREATE TABLE intermediate.int_annual_ranked (period_start DATE, period_end DATE,
    methodology_version VARCHAR, year INTEGER, rating VARCHAR, unit_id VARCHAR,
    unit_name VARCHAR, unit_name_kk VARCHAR, weeks_rated BIGINT, mean_weekly_place DOUBLE,
    expert_score DOUBLE, place_mean_weekly_place INTEGER, place_expert_score INTEGER,
    penalty_points DOUBLE, final_place INTEGER, top_three BOOLEAN);
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
-- incidents: a missing response, resolution, score or feedback is normal data
INSERT INTO raw.incidents VALUES
    ('i1', '2026-11-02 10:00', 'b-ala', 'vk', NULL, 'roads', 'm1', '2026-11-02 11:00',
     '2026-11-03 10:00', 4, 'satisfied', 6, 'run-2', 'incidents/i.csv', 2, now()),
    ('i2', '2026-11-02 12:00', 'b-ala', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 6,
     'run-2', 'incidents/i.csv', 3, now()),
    ('i3', '2026-11-03 12:00', 'b-min', 'telegram', NULL, 'health', NULL, '2026-11-03 23:00',
     '2026-11-04 10:00', 1, 'unsatisfied', 6, 'run-2', 'incidents/i.csv', 4, now());

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

-- monthly: bodies (b-ast renamed on 2026-11-10: two registry lines of one entity)
INSERT INTO registry.entities VALUES
    ('b-ala', 'district', 'Алатауский район', NULL, 'r-ala', NULL, NULL, NULL),
    ('b-ast', 'district', 'Старое имя', NULL, 'r-ast', NULL, NULL, '2026-11-09'),
    ('b-ast', 'district', 'Новое имя', NULL, 'r-ast', NULL, '2026-11-10', NULL),
    ('b-one', 'district', 'Один инцидент', NULL, 'r-ala', NULL, NULL, NULL),
    ('b-old', 'district', 'Упразднённый', NULL, 'r-ala', NULL, NULL, '2026-10-31'),
    ('b-min', 'ministry', 'Минздрав', NULL, NULL, 'ministry', NULL, NULL),
    ('b-min2', 'ministry', 'Минпросвещения', NULL, NULL, 'ministry', NULL, NULL),
    ('b-min3', 'ministry', 'Минтранс', NULL, NULL, 'ministry', NULL, NULL);
INSERT INTO intermediate.int_incidents_month
    SELECT 'i-' || body_id || '-' || i, body_id, body_group,
           TIMESTAMPTZ '2026-11-05 10:00:00+05' + i * INTERVAL 1 HOUR
    FROM (VALUES ('b-ala', 'municipal', 2), ('b-ast', 'municipal', 2),
                 ('b-old', 'municipal', 2), ('b-one', 'municipal', 1),
                 ('b-min', 'ministry', 2), ('b-min2', 'ministry', 4),
                 ('b-min3', 'ministry', 2)) b(body_id, body_group, n),
         range(n) t(i);
INSERT INTO intermediate.int_incidents_month VALUES
    -- 2026-11-01 01:00 in Almaty: b-ala's third incident of November
    ('i-ala-first', 'b-ala', 'municipal', '2026-10-31 20:00:00+00'),
    -- 2026-12-01 01:00 in Almaty: December, so b-one has one incident in November
    ('i-one-dec', 'b-one', 'municipal', '2026-11-30 20:00:00+00');
INSERT INTO intermediate.int_incidents_ranked VALUES
    ('2026-11-01', '2026-12-01', 'v1', 'b-ala', 'Алатауский район', NULL, 'municipal', 3,
     66.6, 33.3, 30.5, 2, 100, 4.5, 1, 1, 1, 1, 0, 1),
    ('2026-11-01', '2026-12-01', 'v1', 'b-ast', 'Новое имя', NULL, 'municipal', 2,
     50, 50, NULL, 0, NULL, NULL, 2, 2, 2, 2, 0, 2),
    ('2026-11-01', '2026-12-01', 'v1', 'b-min2', 'Минпросвещения', NULL, 'ministry', 4,
     100, 0, 10, 4, 75, 5, 1, 1, 1, 1, 0, 1),
    ('2026-11-01', '2026-12-01', 'v1', 'b-min', 'Минздрав', NULL, 'ministry', 2,
     100, 50, 660, 1, 0, 1, 3, 2, 3, 3, 0, 3),
    ('2026-11-01', '2026-12-01', 'v1', 'b-min3', 'Минтранс', NULL, 'ministry', 2,
     100, 0, 45, 1, 50, 3, 2, 2, 2, 2, 0, 2);

-- annual: published weeks (latest revisions)
INSERT INTO marts.rating_people_weekly_current VALUES
    ('2026-11-06', 'r-ala', 1), ('2026-11-06', 'r-ast', 2),
    ('2026-11-13', 'r-ala', 2), ('2026-11-13', 'r-ast', 1),
    ('2025-12-26', 'r-old', 1);  -- a week of the previous year
INSERT INTO marts.rating_region_pages_weekly_current VALUES
    ('2026-11-13', 'p-ala-vk', 1), ('2026-11-13', 'p-ast-ig', 2);
INSERT INTO marts.rating_district_pages_weekly_current VALUES ('2025-12-26', 'p-d1-fb', 1);
INSERT INTO marts.rating_insta_akims_weekly_current VALUES
    ('2026-11-13', 'p-d1-akim', 1), ('2027-01-01', 'p-d1-gone', 1);  -- next year's week
-- expert scores for people only (r-ast has none: it ranks last); other ratings: NULL places
INSERT INTO intermediate.int_annual_ranked VALUES
    ('2026-01-01', '2027-01-01', 'v1', 2026, 'people', 'r-ala', 'Алматы', NULL, 2, 1.5, 8,
     1, 1, 0, 1, TRUE),
    ('2026-01-01', '2027-01-01', 'v1', 2026, 'people', 'r-ast', 'Астана', NULL, 2, 1.5, NULL,
     1, 2, 0, 2, TRUE),
    ('2026-01-01', '2027-01-01', 'v1', 2026, 'region_pages', 'p-ala-vk', 'Алматы', NULL, 1, 1,
     NULL, 1, NULL, 0, 1, TRUE),
    ('2026-01-01', '2027-01-01', 'v1', 2026, 'region_pages', 'p-ast-ig', 'Астана', NULL, 1, 2,
     NULL, 2, NULL, 0, 2, TRUE),
    ('2026-01-01', '2027-01-01', 'v1', 2026, 'insta_akims', 'p-d1-akim', 'Район', NULL, 1, 1,
     NULL, 1, NULL, 0, 1, TRUE);
"""


def penalty_sql(rating: vs.Rating, where: str = "TRUE") -> str:
    """UPDATE setting the candidate's penalty points from the methodology's weights (a NULL
    optional place adds 0); no-op while the rating has no weights (its tests skip)."""
    weights = methodology.parameters().get("weights", {}).get(rating.key) or {}
    terms = [
        f"coalesce(place_{name} * {float(w)}, 0)"
        if name in rating.optional_places
        else f"place_{name} * {float(w)}"
        for name, w in weights.items()
    ]
    return f"UPDATE {rating.table} SET penalty_points = {' + '.join(terms) or '0'} WHERE {where}"


def needs_weights(key: str) -> None:
    if not methodology.parameters().get("weights", {}).get(key):
        pytest.skip(f"no weights for {key!r} in dbt_project.yml vars.methodology.weights yet")


INCIDENTS = vs.RATINGS["incidents_ranked"]
ANNUAL = vs.RATINGS["annual_ranked"]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(DDL)
        con.execute(DATA)
        con.execute(penalty_sql(INCIDENTS))
        con.execute(penalty_sql(ANNUAL))
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
    assert committed.keys() == built.keys(), "run: uv run python -m govpulse.quality.suites"
    for name, suite in built.items():
        assert vs.normalized(committed[name]) == vs.normalized(suite.to_json_dict()), (
            f"{name}: committed JSON is stale; run: uv run python -m govpulse.quality.suites"
        )


@pytest.mark.parametrize("suite", list(vs.RATINGS))
def test_rating_indicators_match_methodology_weights(suite: str) -> None:
    rating = vs.RATINGS[suite]
    needs_weights(rating.key)
    assert [c.name for c in rating.indicators] == list(methodology.weights(rating.key))


def test_ratings_of_each_run_kind() -> None:
    assert [r.suite for r in vs.ratings_of("weekly")] == [
        "people_ranked",
        "region_pages_ranked",
        "district_pages_ranked",
        "insta_akims_ranked",
    ]
    assert [r.suite for r in vs.ratings_of("monthly")] == ["incidents_ranked"]
    assert [r.suite for r in vs.ratings_of("annual")] == ["annual_ranked"]
    assert all(r.kind == k for k in vs.PERIOD_OF_KIND for r in vs.ratings_of(k))
    with pytest.raises(ValueError, match="unknown run kind"):
        vs.ratings_of("daily")


# ---- raw ----
def test_good_raw_passes_and_is_recorded(warehouse: Path) -> None:
    started = time.perf_counter()
    report = validation.validate_raw(warehouse, RUN, PERIOD)
    print(f"validate_raw: {time.perf_counter() - started:.2f}s")
    assert report.success, report.summary()
    # follower audits, fakes: no rows in the run; fetch completeness: no connector ran
    assert report.skipped() == ["raw_follower_audits", "raw_fakes", "fetch_completeness"]
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
    assert rows[2] == 6  # two records of three skipped suites
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
    # raw text is withheld (it could be anyone's); the row is found by file and line
    assert first.observed_value == (
        '1 of 50 unexpected: [{"platform": "(withheld)", "_file": "mentions/b.csv", "_line": 7}]')
    assert ("mentions: `platform` is one of the allowed values — 1 of 50 rows break it, "
            "e.g. mentions/b.csv:7") in report.summary()


def test_private_author_data_never_reaches_ops_validations(warehouse: Path) -> None:
    """A shifted CSV row puts a private author's id and text into enum columns: the failures
    say how many rows and where (file, line), never the values, in ops.validations and in the
    run's message; numbers (a negative count) stay, they say what is wrong without saying who."""
    author, text = "id777000555", "Иванов Иван Иванович пишет акиму"
    sql(warehouse, f"""
        UPDATE raw.mentions SET author_id = '{author}', author_type = '{author}', text = '{text}',
               sentiment = '{text}', likes = -5
        WHERE _run_id = 'run-2' AND _line = 9""")
    report = validation.validate_raw(warehouse, RUN, PERIOD)
    assert {("raw_mentions", "expect_column_values_to_be_in_set", "author_type"),
            ("raw_mentions", "expect_column_values_to_be_in_set", "sentiment"),
            ("raw_mentions", "expect_column_values_to_be_between", "likes")} <= failing(report)
    validation.record(warehouse, report)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("SELECT * FROM ops.validations WHERE run_id = ?", [RUN]).fetchall()
        observed = dict(con.execute(
            "SELECT column_name, observed_value FROM ops.validations WHERE run_id = ? AND NOT "
            "success AND expectation LIKE 'expect_column_values%'", [RUN]).fetchall())
    recorded = json.dumps([[str(v) for v in row] for row in rows], ensure_ascii=False)
    for private in (author, text, "Иванов", "777000555"):
        assert private not in recorded
        assert private not in report.summary()
    assert observed["author_type"] == (
        '1 of 50 unexpected: [{"author_type": "(withheld)", "_file": "mentions/b.csv", '
        '"_line": 9}]')
    assert '"likes": -5' in observed["likes"]
    # the run's message: the dataset, the rule in words, how many rows and where
    summary = report.summary()
    assert "failed: mentions: " in summary, summary
    assert "1 of 50 rows break it, e.g. mentions/b.csv:9" in summary, summary
    assert "What to do: fix or remove the file named" in summary


def test_failed_query_messages_lose_their_values() -> None:
    message = "Conversion Error: Could not convert string 'Иванов Иван' to INT64 in \"likes\""
    assert validation.without_literals(message) == (
        "Conversion Error: Could not convert string '…' to INT64 in \"likes\"")


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
    assert len(report.skipped()) == 8  # 7 raw datasets + fetch completeness
    assert report.summary().startswith("raw: 0/0 expectations passed (8 skipped")


def land_fetch_reports(warehouse: Path, inbox: Path) -> None:
    """Land the connectors' fetch reports as a run does (ops.fetch_pages)."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS ops")
        con.execute(API_CAPTURES_DDL)
        for path in discover_api_files(inbox / API_FOLDER):
            if path.name.startswith(REPORT_PREFIX):
                land_api_file(con, path, path.relative_to(inbox).as_posix(), 9, RUN)


def completeness(report: validation.ValidationReport) -> list[validation.ExpectationResult]:
    return [r for r in report.results if r.suite == "fetch_completeness"]


def test_a_configured_platform_that_fetched_nothing_fails_completeness(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The platform server fails every request: the fetch stops, yet its pages were reported
    `not_fetched` before the first request, so completeness fails instead of being skipped.
    A platform without a token (telegram here) reports nothing and is not counted."""
    registry = write_files(tmp_path / "registry", {
        "entities.csv": "entity_id,level,name_ru\nA,region,Алматы\n",
        "populations.csv": "entity_id,population,population_date\nA,1000,2023-01-01\n",
        "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind\n"
                     "p-ala-vk,vk,1,A,official_region\np-ala-tg,telegram,ala,A,official_region\n",
        "aliases.csv": "entity_id,alias\n",
        "excluded_sources.csv": "platform,source_id,reason\n",
    })
    inbox = tmp_path / "inbox"
    monkeypatch.setenv("GOVPULSE_HTTP_BACKOFF_SECONDS", "0.01")
    with serve(BrokenServer(Reply(503, None))) as url:
        report = fetch_platform("vk", PERIOD, registry, inbox, token="vk-token-1234",
                                api_url=url)
    assert not report.ok and "HTTP 503" in (report.error or "")
    land_fetch_reports(warehouse, inbox)
    result = validation.validate_raw(warehouse, RUN, PERIOD)
    [check] = completeness(result)
    assert not result.success and not check.success
    assert "vk: 1 of 1 pages not fetched" in check.observed_value
    assert "p-ala-vk (vk id 1): " in check.observed_value and "HTTP 503" in check.observed_value
    assert "telegram" not in check.observed_value


def test_a_retried_fetch_counts_each_page_once_with_its_latest_status(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt failed (pages `not_fetched`), the retry fetched them: complete."""
    registry = write_files(tmp_path / "registry", {
        "entities.csv": "entity_id,level,name_ru\nA,region,Алматы\n",
        "populations.csv": "entity_id,population,population_date\nA,1000,2023-01-01\n",
        "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind\n"
                     "p-ala-vk,vk,1,A,official_region\n",
        "aliases.csv": "entity_id,alias\n",
        "excluded_sources.csv": "platform,source_id,reason\n",
    })
    inbox, token = tmp_path / "inbox", "vk-token-1234"
    monkeypatch.setenv("GOVPULSE_HTTP_BACKOFF_SECONDS", "0.01")
    vk = VkServer(token)
    vk.add(Community(1, "almaty", members_count=10))
    vk.failures += [Reply(503, None)] * 7  # the first attempt gives up after 6 retries
    with serve(vk) as url:
        first = fetch_platform("vk", PERIOD, registry, inbox, token=token, api_url=url)
        time.sleep(0.01)  # the reports are named by their start time
        second = fetch_platform("vk", PERIOD, registry, inbox, token=token, api_url=url)
    assert not first.ok and second.ok
    land_fetch_reports(warehouse, inbox)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops.fetch_pages").fetchone()[0] == 2
    [check] = completeness(validation.validate_raw(warehouse, RUN, PERIOD))
    assert check.success, check.observed_value


@pytest.mark.parametrize("kind", ["weekly", "monthly"])
def test_a_configured_platform_without_any_fetch_report_fails_weekly_completeness(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """VK has a token and registry pages but landed no report (its fetch task died before
    fetching): a weekly run fails completeness; Instagram (no token) is not counted; a monthly
    run fetches nothing and skips the suite."""
    for platform in vs.PLATFORMS:
        monkeypatch.delenv(f"GOVPULSE_{platform.upper()}_TOKEN", raising=False)
    monkeypatch.setenv("GOVPULSE_VK_TOKEN", "vk-token-1234")
    sql(warehouse, f"""
        CREATE SCHEMA ops;
        CREATE TABLE ops.runs (run_id VARCHAR, kind VARCHAR);
        INSERT INTO ops.runs VALUES ('{RUN}', '{kind}')""")
    report = validation.validate_raw(warehouse, RUN, PERIOD,
                                     expected_platforms=configured_platforms())
    [check] = completeness(report)
    if kind == "monthly":
        assert check.expectation == validation.SKIPPED
        return
    assert not check.success
    # p-old-vk's region ended before the week: no fetch asks for it
    assert check.observed_value.startswith(
        '1 of 1 unexpected: [{"completeness": 0.0, "problem": "vk: 1 of 1 pages not fetched')
    assert "p-ala-vk (vk id " in check.observed_value and "p-old-vk" not in check.observed_value
    assert "landed no report" in check.observed_value


def test_raw_incidents_are_validated(warehouse: Path) -> None:
    report = validation.validate_raw(warehouse, RUN, PERIOD)
    incidents = [r for r in report.results if r.suite == "raw_incidents"]
    assert incidents and all(r.success for r in incidents)  # NULL response etc. is fine
    assert "raw_incidents" not in report.skipped()
    assert {r.column for r in incidents} >= {
        "answer_quality",
        "satisfaction",
        "detected_at__future_count",
        "incident_id__null_count",
    }


def test_bad_incident_values_fail(warehouse: Path) -> None:
    sql(warehouse, "UPDATE raw.incidents SET answer_quality = 6 WHERE incident_id = 'i1'")
    sql(warehouse, "UPDATE raw.incidents SET satisfaction = 'meh' WHERE incident_id = 'i3'")
    sql(
        warehouse,
        "UPDATE raw.incidents SET detected_at = now() + INTERVAL 3 DAY WHERE incident_id = 'i2'",
    )
    report = validation.validate_raw(warehouse, RUN, PERIOD)
    fails = failing(report)
    assert {f[0] for f in fails} == {"raw_incidents"}
    assert {f[2] for f in fails} == {
        "answer_quality",
        "answer_quality__out_of_range_count",
        "satisfaction",
        "satisfaction__not_in_set_count",
        "detected_at__future_count",
    }


def test_raw_incidents_skipped_without_rows_in_the_run(warehouse: Path) -> None:
    sql(warehouse, "DELETE FROM raw.incidents")
    report = validation.validate_raw(warehouse, RUN, PERIOD)
    assert report.success
    assert "raw_incidents" in report.skipped()


# ---- candidates ----
def test_good_candidates_pass(warehouse: Path) -> None:
    started = time.perf_counter()
    report = validation.validate_candidates(warehouse, RUN, PERIOD)
    print(f"validate_candidates: {time.perf_counter() - started:.2f}s")
    assert report.success, report.summary()
    # the default kind is weekly: the monthly and annual candidates are not validated
    assert {r.suite for r in report.results} == {r.suite for r in vs.ratings_of("weekly")}
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
    # the run's message says it in words, with the unit and what to do
    summary = report.summary()
    assert "1 failed: «Что говорит народ» (people) rating: " in summary, summary
    assert "— 1 of " in summary and "e.g. unit_id r-ast" in summary, summary
    assert "What to do:" in summary


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
    assert ("«Инста-акимы» rating: candidate table intermediate.int_insta_akims_ranked does "
            "not exist") in report.summary()


def test_unknown_kind_raises(warehouse: Path) -> None:
    with pytest.raises(ValueError, match="unknown run kind"):
        validation.validate_candidates(warehouse, RUN, PERIOD, kind="weeks")


def test_weekly_wrong_period_end_fails(warehouse: Path) -> None:
    sql(warehouse, "UPDATE intermediate.int_district_pages_ranked SET period_end = '2026-11-21'")
    report = validation.validate_candidates(warehouse, RUN, PERIOD)
    assert failing(report) == {
        ("district_pages_ranked", "expect_column_values_to_be_in_set", "period_mismatch")
    }


# ---- monthly candidates (METHODOLOGY §5) ----
def monthly(warehouse: Path) -> validation.ValidationReport:
    needs_weights("incidents")
    return validation.validate_candidates(warehouse, RUN, MONTH, kind="monthly")


def test_good_monthly_candidate_passes(warehouse: Path) -> None:
    report = monthly(warehouse)
    assert report.success, report.summary()
    # the fakes report's tables are not in this warehouse: its suite is skipped
    assert {r.suite for r in report.results} == {"incidents_ranked", "fakes_report"}
    assert report.skipped() == ["fakes_report"]
    # b-ala counts its incident of 2026-11-01 01:00 Almaty time (UTC: October); b-one's second
    # incident is in December there; b-old has enough incidents but left the registry
    units = [r for r in report.results if r.column == "missing"][0]
    details = json.loads(units.details)
    assert details["frame_rows"] == 5  # the 5 rated bodies, each once despite b-ast's 2 lines
    assert details["incident_min_count"] == methodology.parameters().get("incident_min_count", 2)
    assert details["period_end"] == "2026-12-01"


def test_body_with_one_incident_is_unexpected(warehouse: Path) -> None:
    sql(
        warehouse,
        "INSERT INTO intermediate.int_incidents_ranked SELECT * REPLACE ('b-one' AS unit_id) "
        "FROM intermediate.int_incidents_ranked WHERE unit_id = 'b-ast'",
    )
    report = monthly(warehouse)
    assert failing(report) == {
        ("incidents_ranked", "expect_column_values_to_be_in_set", "unexpected")
    }
    assert "b-one" in report.failures()[0].observed_value
    assert "municipal" in report.failures()[0].observed_value


def test_inactive_body_is_unexpected(warehouse: Path) -> None:
    sql(
        warehouse,
        "UPDATE intermediate.int_incidents_ranked SET unit_id = 'b-old' WHERE unit_id = 'b-ast'",
    )
    report = monthly(warehouse)
    assert failing(report) == {
        ("incidents_ranked", "expect_column_values_to_be_in_set", "unexpected"),
        ("incidents_ranked", "expect_column_values_to_be_in_set", "missing"),  # b-ast
    }
    observed = " ".join(f.observed_value for f in report.failures())
    assert "b-old" in observed and "b-ast" in observed


def test_qualifying_body_missing_fails(warehouse: Path) -> None:
    sql(warehouse, "DELETE FROM intermediate.int_incidents_ranked WHERE unit_id = 'b-min3'")
    sql(
        warehouse,
        "UPDATE intermediate.int_incidents_ranked SET place_avg_response_minutes = 2, "
        "place_resolved_count = 2, place_resolved_satisfied_pct = 2, "
        "place_answer_quality_avg = 2, final_place = 2 WHERE unit_id = 'b-min'",
    )
    sql(warehouse, penalty_sql(INCIDENTS))
    report = monthly(warehouse)
    assert failing(report) == {("incidents_ranked", "expect_column_values_to_be_in_set", "missing")}
    assert '"body_group": "ministry", "unit_id": "b-min3"' in report.failures()[0].observed_value


def test_body_in_another_group_fails(warehouse: Path) -> None:
    sql(
        warehouse,
        "UPDATE intermediate.int_incidents_ranked SET body_group = 'municipal', "
        "final_place = 3 WHERE unit_id = 'b-min3'",
    )
    fails = failing(monthly(warehouse))
    assert ("incidents_ranked", "expect_column_values_to_be_in_set", "missing") in fails
    assert ("incidents_ranked", "expect_column_values_to_be_in_set", "unexpected") in fails


def test_monthly_penalty_mismatch_fails(warehouse: Path) -> None:
    sql(
        warehouse,
        "UPDATE intermediate.int_incidents_ranked SET penalty_points = penalty_points + 1 "
        "WHERE unit_id = 'b-min'",
    )
    report = monthly(warehouse)
    assert failing(report) == {
        ("incidents_ranked", "expect_column_values_to_be_in_set", "penalty_mismatch")
    }
    assert "b-min" in report.failures()[0].observed_value


def test_monthly_places_are_per_group(warehouse: Path) -> None:
    # place 3 exists in the ministry group (3 bodies), not in the municipal one (2 bodies)
    sql(
        warehouse,
        "UPDATE intermediate.int_incidents_ranked SET final_place = 3 WHERE unit_id = 'b-ast'",
    )
    report = monthly(warehouse)
    assert failing(report) == {
        ("incidents_ranked", "expect_column_values_to_be_in_set", "place_beyond_group")
    }
    assert "b-ast" in report.failures()[0].observed_value
    # beyond the largest group: the rows' range check fails too
    sql(
        warehouse,
        "UPDATE intermediate.int_incidents_ranked SET final_place = 4 WHERE unit_id = 'b-ast'",
    )
    assert ("incidents_ranked", "expect_column_values_to_be_between", "final_place") in failing(
        monthly(warehouse)
    )


def test_monthly_duplicate_body_fails(warehouse: Path) -> None:
    sql(
        warehouse,
        "INSERT INTO intermediate.int_incidents_ranked "
        "SELECT * FROM intermediate.int_incidents_ranked WHERE unit_id = 'b-ala'",
    )
    fails = failing(monthly(warehouse))
    assert (
        "incidents_ranked",
        "expect_compound_columns_to_be_unique",
        "body_group,unit_id",
    ) in fails


def test_monthly_wrong_period_end_fails(warehouse: Path) -> None:
    sql(warehouse, "UPDATE intermediate.int_incidents_ranked SET period_end = '2026-12-02'")
    report = monthly(warehouse)
    assert failing(report) == {
        ("incidents_ranked", "expect_column_values_to_be_in_set", "period_mismatch")
    }


def test_missing_weights_fail(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    params = {**methodology.parameters(), "weights": {}}
    monkeypatch.setattr(validation.methodology, "parameters", lambda: params)
    report = validation.validate_candidates(warehouse, RUN, MONTH, kind="monthly")
    (failure,) = report.failures()
    assert (failure.suite, failure.expectation) == ("incidents_ranked", "weights_configured")
    assert "'incidents'" in failure.observed_value


# ---- annual candidate (METHODOLOGY §7) ----
def annual(warehouse: Path) -> validation.ValidationReport:
    needs_weights("annual")
    return validation.validate_candidates(warehouse, RUN, YEAR, kind="annual")


def test_good_annual_candidate_passes(warehouse: Path) -> None:
    # places per rating (two place-1 rows per rating), NULL expert places where a rating has
    # no scores; not expected: r-old (a 2025 week), district pages (no week of 2026),
    # p-d1-gone (a 2027 week)
    report = annual(warehouse)
    assert report.success, report.summary()
    assert {r.suite for r in report.results} == {"annual_ranked"}
    units = [r for r in report.results if r.column == "missing"][0]
    assert json.loads(units.details)["frame_rows"] == 5


def test_annual_wrong_period_end_fails(warehouse: Path) -> None:
    sql(
        warehouse,
        "UPDATE intermediate.int_annual_ranked SET period_end = '2026-12-31' "
        "WHERE unit_id = 'p-d1-akim'",
    )
    report = annual(warehouse)
    assert failing(report) == {
        ("annual_ranked", "expect_column_values_to_be_in_set", "period_mismatch")
    }
    assert "p-d1-akim" in report.failures()[0].observed_value


def test_annual_unit_of_a_published_week_missing_fails(warehouse: Path) -> None:
    sql(warehouse, "DELETE FROM intermediate.int_annual_ranked WHERE unit_id = 'p-d1-akim'")
    report = annual(warehouse)
    assert failing(report) == {("annual_ranked", "expect_column_values_to_be_in_set", "missing")}
    assert '"rating": "insta_akims", "unit_id": "p-d1-akim"' in report.failures()[0].observed_value


def test_annual_unit_of_another_year_is_unexpected(warehouse: Path) -> None:
    sql(
        warehouse,
        "INSERT INTO intermediate.int_annual_ranked VALUES ('2026-01-01', '2027-01-01', 'v1', "
        "2026, 'district_pages', 'p-d1-fb', 'Район', NULL, 1, 1, NULL, 1, NULL, 1, 1, TRUE)",
    )
    sql(warehouse, penalty_sql(ANNUAL))
    report = annual(warehouse)
    assert failing(report) == {("annual_ranked", "expect_column_values_to_be_in_set", "unexpected")}
    assert "p-d1-fb" in report.failures()[0].observed_value


def test_annual_expert_places_null_only_without_scores(warehouse: Path) -> None:
    # people has scores: r-ast's NULL score ranks last, its place must not be NULL
    sql(
        warehouse,
        "UPDATE intermediate.int_annual_ranked SET place_expert_score = NULL "
        "WHERE unit_id = 'r-ast'",
    )
    sql(warehouse, penalty_sql(ANNUAL))  # consistent penalty: only the NULL place is wrong
    report = annual(warehouse)
    assert failing(report) == {
        ("annual_ranked", "expect_column_values_to_be_in_set", "place_null_mismatch")
    }
    assert "r-ast" in report.failures()[0].observed_value


def test_annual_penalty_counts_expert_place(warehouse: Path) -> None:
    # the expert place is weighted in; penalty without it is a mismatch
    sql(
        warehouse,
        "UPDATE intermediate.int_annual_ranked SET penalty_points = place_mean_weekly_place "
        "WHERE unit_id = 'r-ast'",
    )
    report = annual(warehouse)
    assert failing(report) == {
        ("annual_ranked", "expect_column_values_to_be_in_set", "penalty_mismatch")
    }


def test_annual_duplicate_in_a_rating_fails(warehouse: Path) -> None:
    sql(
        warehouse,
        "INSERT INTO intermediate.int_annual_ranked "
        "SELECT * FROM intermediate.int_annual_ranked WHERE unit_id = 'p-ala-vk'",
    )
    fails = failing(annual(warehouse))
    assert ("annual_ranked", "expect_compound_columns_to_be_unique", "rating,unit_id") in fails


def test_annual_unknown_rating_fails(warehouse: Path) -> None:
    sql(
        warehouse,
        "UPDATE intermediate.int_annual_ranked SET rating = 'people_weekly' "
        "WHERE unit_id = 'p-d1-akim'",
    )
    fails = failing(annual(warehouse))
    assert ("annual_ranked", "expect_column_values_to_be_in_set", "rating") in fails
