"""The synthetic inbox is deterministic, readable and exercises the methodology's edge cases."""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from devtools import generate as gen
from govpulse.contract import PLATFORMS
from govpulse.warehouse.schema import connect
from ingestion.landing import land_inbox
from ingestion.registry import load_registry

SCALE = 0.0002  # ~4,000 mentions a week: fast, yet every special case is present
NOVEMBER = date(2026, 11, 1)
MUNICIPAL_LEVELS = ("district", "city", "city_district")


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("gen_a")
    return out, gen.generate(out, scale=SCALE)


@pytest.fixture(scope="module")
def con(run: tuple[Path, dict]) -> duckdb.DuckDBPyConnection:
    out, _ = run
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Almaty'")  # naive input timestamps are Almaty time
    inbox, reg = out / "inbox", out / "registry"
    con.execute(f"""
        CREATE TABLE pages AS SELECT * FROM read_csv('{reg}/pages.csv', all_varchar = true);
        CREATE TABLE aliases AS SELECT * FROM read_csv('{reg}/aliases.csv', all_varchar = true);
        CREATE TABLE entities AS SELECT * FROM read_csv('{reg}/entities.csv', all_varchar = true);
        CREATE TABLE mentions AS
        SELECT *, row_number() OVER (ORDER BY filename) AS seq  -- files keep their line order
        FROM read_csv('{inbox}/mentions/*_mentions.csv', all_varchar = true, filename = true);
        CREATE TABLE snapshots AS
        SELECT * FROM read_json('{inbox}/page_snapshots/*.jsonl', format = 'newline_delimited');
        CREATE TABLE posts AS
        SELECT platform, platform_page_id, post_id
        FROM read_csv('{inbox}/page_posts/*.csv', all_varchar = true)
        UNION ALL
        SELECT platform, platform_page_id, post_id
        FROM read_json('{inbox}/page_posts/*.json', format = 'array');
        CREATE TABLE expert_scores AS
        SELECT * FROM read_csv('{reg}/expert_scores.csv', all_varchar = true);
        -- incidents as exported (files in name order, lines in file order)
        CREATE TABLE incident_rows AS
        SELECT *, parse_filename(filename) AS file,
               row_number() OVER (ORDER BY filename) AS seq
        FROM read_csv('{inbox}/incidents/*.csv', all_varchar = true, filename = true);
        -- the latest copy of each incident, planted bad rows left out, with the body's group
        CREATE TABLE incidents AS
        SELECT i.*, e.level AS body_level, coalesce(e.body_group, 'municipal') AS body_group,
               i.detected_at::TIMESTAMP AS detected, i.first_response_at::TIMESTAMP AS responded
        FROM incident_rows i LEFT JOIN entities e ON e.entity_id = i.body_id
        WHERE i.incident_id NOT LIKE '%-95______'
        QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY seq DESC) = 1;
    """)
    return con


def test_summary_and_layout(run: tuple[Path, dict]) -> None:
    out, summary = run
    assert summary["period_starts"] == ["2026-11-06", "2026-11-13"]
    assert summary["months"] == ["2026-11"]
    assert summary["bodies_added"] == len(gen.BODIES)
    assert summary["pages_added"] == 0  # 50,000 x 0.0002 pages: the registry has more
    assert set(summary["datasets"]) == {
        "mentions", "page_snapshots", "page_posts", "post_interactions", "follower_audits",
        "incidents", "expert_scores"}
    assert summary["datasets"]["incidents"]["files"] == [
        "incidents/2026-11_incidents.csv", "incidents/2026-11_incidents_late.csv"]
    assert summary["datasets"]["expert_scores"]["files"] == ["../registry/expert_scores.csv"]
    for name, entry in summary["datasets"].items():
        assert entry["rows"] > 0, name
        assert entry["files"] == sorted(entry["files"]), "byte order must be time order"
        for rel in entry["files"]:
            assert (out / "inbox" / rel).is_file()
    assert (out / "registry" / "pages.csv").is_file()
    posts = summary["datasets"]["page_posts"]["files"]
    assert {Path(f).suffix for f in posts} == {".csv", ".json"}


def test_same_seed_same_bytes(run: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = run
    gen.generate(tmp_path, scale=SCALE)
    assert digests(tmp_path) == digests(out)


@pytest.mark.parametrize(("threads", "per_slice"), [(1, 300), (3, 1000)])
def test_slicing_and_threads_do_not_change_the_bytes(
    run: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int,
    per_slice: int
) -> None:
    """A week's mentions are sorted and written in time slices (~14 or ~4 of this week's
    ~4,000 here, 1 by default): whatever the slicing and the thread count, the same bytes."""
    out, _ = run
    connect = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *args, config=None, **kwargs: connect(
        *args, config={**(config or {}), "threads": threads}, **kwargs))
    monkeypatch.setattr(gen, "MENTIONS_PER_SLICE", per_slice)
    gen.generate(tmp_path, scale=SCALE)
    assert digests(tmp_path) == digests(out)  # the temporary folder is gone too


def test_many_spam_authors_leave_the_hand_shaped_ones_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From scale ~0.5 on there are over 100 mass sharers (one per 5,000 mentions): their
    mention numbers must not collide with the edge-case authors' (100..103) or the week
    boundary rows'."""
    monkeypatch.setattr(gen, "MENTIONS_PER_SPAM_AUTHOR", 20)  # 203 spam authors
    gen.generate(tmp_path, weeks=1, scale=SCALE)
    con = duckdb.connect()
    rows = f"read_csv('{tmp_path}/inbox/mentions/*_mentions.csv', all_varchar = true)"
    special = f"mention_id::BIGINT % 1000000000 >= {gen.SPECIAL_ID_BASE}"
    ids, distinct, authors = con.execute(f"""
        SELECT count(*), count(DISTINCT mention_id),
               count(DISTINCT author_id) FILTER (WHERE author_id LIKE '9000%')
        FROM {rows} WHERE {special}""").fetchone()
    assert ids == distinct, "hand-shaped mentions are never copied: one line each"
    assert authors == 203 + 4
    shapes = dict(con.execute(f"""
        SELECT author_id, count(*) FROM {rows}
        WHERE author_id BETWEEN '900000100' AND '900000103' GROUP BY ALL""").fetchall())
    assert shapes == {"900000100": 10, "900000101": 10, "900000102": 9, "900000103": 14}
    edges = con.execute(f"""
        SELECT list(published_at ORDER BY mention_id) FROM {rows}
        WHERE mention_id::BIGINT % 1000000000
              BETWEEN {gen.SPECIAL_ID_BASE + 50000} AND {gen.SPECIAL_ID_BASE + 50002}
        """).fetchone()[0]
    assert edges == ["2026-11-12T19:00:00Z", "2026-11-20T00:00:00+05:00", "2026-11-19T23:59:59"]


def test_other_seed_other_bytes(run: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = run
    gen.generate(tmp_path, scale=SCALE, seed=7)
    theirs, ours = digests(tmp_path / "inbox"), digests(out / "inbox")
    assert theirs.keys() == ours.keys()
    assert all(theirs[k] != ours[k] for k in ours)
    theirs, ours = digests(tmp_path / "registry"), digests(out / "registry")
    assert theirs["expert_scores.csv"] != ours["expert_scores.csv"]
    assert theirs["entities.csv"] == ours["entities.csv"]  # the bodies are fixed, not random


def test_files_readable_with_summary_counts(run: tuple[Path, dict]) -> None:
    out, summary = run
    con = duckdb.connect()
    for entry in summary["datasets"].values():
        total = 0
        for rel in entry["files"]:
            path = out / "inbox" / rel
            reader = {".csv": "read_csv", ".jsonl": "read_json", ".json": "read_json"}
            total += con.execute(
                f"SELECT count(*) FROM {reader[path.suffix]}('{path}')").fetchone()[0]
        assert total == entry["rows"]


def test_first_period_start_must_be_friday(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Friday"):
        gen.generate(tmp_path, first_period_start=date(2026, 11, 12))
    assert gen.default_first_period_start(3) == date(2026, 10, 30)


def test_pages_exist_in_registry(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("snapshots", "posts"):
        orphans = con.execute(f"""SELECT count(*) FROM {table}
            ANTI JOIN pages USING (platform, platform_page_id)""").fetchone()[0]
        assert orphans == 0, table


def _weekly(con: duckdb.DuckDBPyConnection) -> str:
    """Deduplicated mentions (latest file, latest line) placed in their reporting week."""
    return """
        WITH dedup AS (
            SELECT * FROM mentions
            QUALIFY row_number() OVER (PARTITION BY platform, mention_id ORDER BY seq DESC) = 1)
        SELECT *, DATE '2020-01-03' + (7 * ((published_at::TIMESTAMPTZ::DATE
                  - DATE '2020-01-03') // 7))::INTEGER AS ps
        FROM dedup"""


def test_spam_and_near_spam_authors(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(f"""
        WITH w AS ({_weekly(con)})
        SELECT ps, platform, author_id, count(*) AS n,
               count(DISTINCT coalesce(source_id, '')) AS sources
        FROM w GROUP BY ALL""").fetchall()
    for week in (date(2026, 11, 6), date(2026, 11, 13)):
        stats = [(n, s) for ps, _, _, n, s in rows if ps == week]
        assert sum(n >= 10 and s >= 10 for n, s in stats) >= 3, "mass sharers"
        assert (10, 9) in stats, "10 mentions in only 9 sources"
        assert (9, 9) in stats, "9 mentions in 9 sources"


def _region_patterns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Whole-word, case-insensitive pattern of each current region's aliases."""
    rows = con.execute("""
        SELECT entity_id, list(alias) FROM aliases JOIN entities USING (entity_id)
        WHERE level = 'region' AND valid_to IS NULL GROUP BY ALL""").fetchall()
    return {
        eid: r"(^|[^\p{L}\p{N}])(" + "|".join(
            re.escape(a.lower().replace("ё", "е")) for a in aliases) + r")($|[^\p{L}\p{N}])"
        for eid, aliases in rows
    }


def test_most_regions_mentioned_every_week(con: duckdb.DuckDBPyConnection) -> None:
    patterns = _region_patterns(con)
    union = " UNION ALL ".join(
        f"SELECT ps, '{eid}' AS eid FROM t WHERE regexp_matches(txt, '{pat}')"
        for eid, pat in patterns.items())
    rows = con.execute(f"""
        WITH t AS (SELECT ps, lower(replace(replace(text, 'ё', 'е'), 'Ё', 'Е')) AS txt
                   FROM ({_weekly(con)}) WHERE entity_id IS NULL)
        SELECT ps, count(DISTINCT eid) FROM ({union}) GROUP BY ps""").fetchall()
    per_week = dict(rows)
    for week in (date(2026, 11, 6), date(2026, 11, 13)):
        assert per_week[week] >= 0.8 * len(patterns)


def test_mention_variety(con: duckdb.DuckDBPyConnection) -> None:
    values = dict(con.execute("""
        SELECT 'author_type', list(DISTINCT author_type ORDER BY author_type) FROM mentions
        UNION ALL SELECT 'sentiment', list(DISTINCT sentiment ORDER BY sentiment) FROM mentions
        UNION ALL SELECT 'platform', list(DISTINCT platform ORDER BY platform) FROM mentions
        """).fetchall())
    assert values["author_type"] == sorted(
        ["person", "community", "media", "government", "corporate", "bot", "unknown"])
    assert values["sentiment"] == ["negative", "neutral", "positive"]
    assert len(values["platform"]) == 7
    glued, with_yo, non_region, copies, offsets = con.execute("""
        SELECT count(*) FILTER (WHERE regexp_matches(text, '(Алматы|Астана|Шымкент)(дағы|ға|ның)')),
               count(*) FILTER (WHERE regexp_matches(lower(text), 'шымкёнт|сёвёро|туркёстан')),
               count(*) FILTER (WHERE entity_id IN (SELECT entity_id FROM entities
                                                    WHERE level <> 'region')),
               count(*) - count(DISTINCT (platform, mention_id)),
               count(DISTINCT regexp_extract(published_at, '(Z|[+-]\\d\\d:\\d\\d)?$'))
        FROM mentions""").fetchone()
    assert glued > 0 and with_yo > 0 and non_region > 0 and copies > 0
    assert offsets == 3  # naive, +05:00 and Z


def test_generic_texts_name_no_place(con: duckdb.DuckDBPyConnection) -> None:
    names = [a.lower() for (a,) in con.execute("SELECT alias FROM aliases").fetchall()]
    for lang in ("ru", "kk"):
        for text in gen.TEMPLATES[("generic", lang)]:
            words = set(re.findall(r"[\w-]+", text.lower().replace("ё", "е")))
            assert not [n for n in names if n in words], text


# ---------------------------------------------------------------- incidents and annual inputs


def test_covered_months() -> None:
    assert gen.covered_months([date(2026, 11, 6), date(2026, 11, 13)]) == [NOVEMBER]
    # a week from Friday 2025-12-26 reaches 2026-01-01
    assert gen.covered_months([date(2025, 12, 26)]) == [date(2025, 12, 1), date(2026, 1, 1)]


def test_incidents_cover_the_month_up_to_the_export(con: duckdb.DuckDBPyConnection) -> None:
    """Weeks of 6..19 November give incidents of November exported when the last week closed
    (20 November 00:00, Almaty wall-clock time): nothing after it, responses included."""
    first, last, days, shapes = con.execute("""
        SELECT min(detected), max(detected), count(DISTINCT detected::DATE),
               count(*) FILTER (WHERE NOT regexp_matches(
                   detected_at, '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d$'))
        FROM incidents""").fetchone()
    assert (first, last) == (datetime(2026, 11, 1), datetime(2026, 11, 19, 23, 59, 59))
    assert days >= 17  # ~200 incidents over 19 days: nearly every day has some
    later = con.execute("""
        SELECT count(*) FROM incident_rows
        WHERE first_response_at >= '2026-11-20' OR resolved_at >= '2026-11-20'""").fetchone()[0]
    assert later == 0
    assert shapes == 0, "timestamps are ISO-8601 without an offset"


def test_incidents_of_a_month_do_not_depend_on_the_weeks(
    run: tuple[Path, dict], tmp_path: Path
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    summary = gen.generate(one, weeks=1, scale=SCALE,
                           first_period_start=date(2026, 10, 30))  # 30 Oct .. 5 Nov
    gen.generate(two, weeks=2, scale=SCALE, first_period_start=date(2026, 10, 23))
    assert summary["months"] == ["2026-10", "2026-11"]
    assert summary["datasets"]["incidents"]["files"] == [
        "incidents/2026-10_incidents.csv", "incidents/2026-10_incidents_late.csv",
        "incidents/2026-11_incidents.csv", "incidents/2026-11_incidents_late.csv"]
    # October ended before either export: the same files, whole
    ours, theirs = digests(one / "inbox" / "incidents"), digests(two / "inbox" / "incidents")
    assert {k: v for k, v in theirs.items() if k.startswith("2026-10")} == {
        k: v for k, v in ours.items() if k.startswith("2026-10")}
    con = duckdb.connect()
    october, november = (con.execute(f"""
        SELECT min(detected_at), max(detected_at)
        FROM read_csv('{one}/inbox/incidents/2026-{m}_incidents.csv', all_varchar = true)
        """).fetchone() for m in ("10", "11"))
    assert october == ("2026-10-01T00:00:00", "2026-10-31T23:59:59")
    assert november == ("2026-11-01T00:00:00", "2026-11-05T23:59:59")  # exported on 6 Nov


def test_default_scale_has_the_tested_incident_volume(run: tuple[Path, dict]) -> None:
    """Incidents have a floor, so the test scale gives the default scale's incidents."""
    _, summary = run
    assert round(gen.INCIDENTS_PER_MONTH_AT_SCALE_1 * 0.001) <= gen.MIN_INCIDENTS_PER_MONTH
    assert round(gen.INCIDENTS_PER_MONTH_AT_SCALE_1 * SCALE) <= gen.MIN_INCIDENTS_PER_MONTH
    assert 200 <= summary["datasets"]["incidents"]["rows"] <= 260


def test_body_group_mix(con: duckdb.DuckDBPyConnection) -> None:
    """Every group has bodies that get rated (>= 2 incidents) and one that does not (1)."""
    rows = con.execute("""
        WITH per_body AS (
            SELECT body_group, body_id, count(*) AS n FROM incidents
            WHERE body_id <> 'unknown-body' GROUP BY ALL)
        SELECT body_group, count(*) FILTER (WHERE n >= 2), count(*) FILTER (WHERE n = 1),
               count(*) FILTER (WHERE n = 2), max(n)
        FROM per_body GROUP BY ALL""").fetchall()
    groups = {g: (rated, single, two, top) for g, rated, single, two, top in rows}
    assert set(groups) == {"municipal", "regional_service", "ministry"}
    for group, (rated, single, two, top) in groups.items():
        assert rated >= 3 and single >= 1 and two >= 1, group
        assert top >= 4, f"{group}: volume is skewed towards some bodies"
    # one body per group has exactly its month's first and last second
    edges = con.execute("""
        SELECT body_group, list(detected ORDER BY detected) FROM incidents
        GROUP BY body_group, body_id HAVING count(*) = 2
           AND min(detected) = TIMESTAMP '2026-11-01 00:00:00'""").fetchall()
    assert sorted(g for g, _ in edges) == ["ministry", "municipal", "regional_service"]
    assert all(ts[1] == datetime(2026, 11, 19, 23, 59, 59) for _, ts in edges)  # exported 20 Nov


def test_incident_bodies_and_municipalities_are_registry_entities(
    con: duckdb.DuckDBPyConnection, run: tuple[Path, dict]
) -> None:
    out, _ = run
    levels = dict(con.execute("""
        SELECT coalesce(body_level, 'missing'), count(*) FROM incidents GROUP BY ALL""").fetchall())
    assert set(levels) == {*MUNICIPAL_LEVELS, "body"}
    munis = con.execute("""
        SELECT count(*) FILTER (WHERE e.level IN ('district', 'city', 'city_district')),
               count(*) FILTER (WHERE e.entity_id IS NULL)
        FROM incidents i LEFT JOIN entities e ON e.entity_id = i.municipality_id
        WHERE i.municipality_id IS NOT NULL""").fetchone()
    assert munis[0] > 0 and munis[1] == 0
    bodies = con.execute("""
        SELECT entity_id, body_group, name_ru, parent_id FROM entities WHERE level = 'body'
        ORDER BY entity_id""").fetchall()
    assert {g for _, g, _, _ in bodies} == {"ministry", "regional_service"}
    assert all(re.search("[а-яА-Я]", name) for _, _, name, _ in bodies)
    # the source registry is kept, row for row, before the added bodies
    source = duckdb.connect().execute(f"""
        SELECT * FROM read_csv('{gen.DEFAULT_REGISTRY}/entities.csv', all_varchar = true)
        """).fetchall()
    written = duckdb.connect().execute(f"""
        SELECT * FROM read_csv('{out}/registry/entities.csv', all_varchar = true)
        """).fetchall()
    assert written[:len(source)] == source
    assert len(written) == len(source) + len(gen.BODIES)


def test_incident_mix(con: duckdb.DuckDBPyConnection) -> None:
    mix = dict(zip(
        ["no_response", "overdue", "in_time", "satisfied", "unsatisfied", "no_feedback",
         "no_quality", "quality", "unresolved_feedback", "edge_in_time", "edge_overdue"],
        con.execute("""
        SELECT count(*) FILTER (WHERE responded IS NULL),
               count(*) FILTER (WHERE responded > detected + INTERVAL 8 HOUR),
               count(*) FILTER (WHERE responded <= detected + INTERVAL 8 HOUR),
               count(*) FILTER (WHERE resolved_at IS NOT NULL AND satisfaction = 'satisfied'),
               count(*) FILTER (WHERE resolved_at IS NOT NULL AND satisfaction = 'unsatisfied'),
               count(*) FILTER (WHERE resolved_at IS NOT NULL AND satisfaction IS NULL),
               count(*) FILTER (WHERE responded IS NOT NULL AND answer_quality IS NULL),
               count(DISTINCT answer_quality),
               count(*) FILTER (WHERE resolved_at IS NULL AND satisfaction IS NOT NULL),
               count(*) FILTER (WHERE responded = detected + INTERVAL 8 HOUR),
               count(*) FILTER (WHERE responded = detected + INTERVAL 8 HOUR + INTERVAL 1 SECOND)
        FROM incidents""").fetchone(), strict=True))
    for name, n in mix.items():
        assert n >= 1, name
    assert mix["quality"] == 5
    assert mix["no_response"] + mix["overdue"] < mix["in_time"]
    categories = {c for (c,) in con.execute("SELECT DISTINCT category FROM incidents").fetchall()}
    assert {"ЖКХ", "Дороги", "Благоустройство", "Транспорт", "Здравоохранение",
            "Образование"} <= categories
    assert all(re.fullmatch(r"[А-Яа-яЁё ]+", c) for c in categories)
    ordered = con.execute("""
        SELECT count(*) FROM (SELECT file, detected_at, lag(detected_at) OVER (
                                  PARTITION BY file ORDER BY seq) AS prev
                              FROM incident_rows WHERE file NOT LIKE '%late%')
        WHERE prev > detected_at""").fetchone()[0]
    assert ordered == 0, "the monthly export is in detection order"


def test_late_corrections_add_a_response(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute("""
        SELECT a.incident_id, a.first_response_at, b.first_response_at, a.detected_at,
               b.detected_at, a.body_id, b.body_id
        FROM incident_rows a JOIN incident_rows b USING (incident_id)
        WHERE a.file = '2026-11_incidents.csv' AND b.file = '2026-11_incidents_late.csv'
        """).fetchall()
    assert len(rows) >= 3
    for _, before, after, det_a, det_b, body_a, body_b in rows:
        assert before is None and after is not None
        assert (det_a, body_a) == (det_b, body_b)


def test_planted_bad_incident_rows(con: duckdb.DuckDBPyConnection) -> None:
    bad = con.execute("""
        SELECT count(*) FILTER (WHERE answer_quality = '7'),
               count(*) FILTER (WHERE satisfaction NOT IN ('satisfied', 'unsatisfied')),
               count(*) FILTER (WHERE body_id = 'unknown-body'),
               count(*) FILTER (WHERE body_id NOT IN (SELECT entity_id FROM entities)),
               count(*) FILTER (WHERE file NOT LIKE '%_late.csv' AND (answer_quality = '7'
                                OR body_id NOT IN (SELECT entity_id FROM entities)))
        FROM incident_rows""").fetchone()
    assert bad == (1, 1, 1, 1, 0)


def test_expert_scores(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute("SELECT year, rating, unit_id, score FROM expert_scores").fetchall()
    assert {(y, r) for y, r, _, _ in rows} == {("2026", "people"), ("2026", "insta_akims")}
    assert all(re.fullmatch(r"\d{1,2}\.\d", s) and 1 <= float(s) <= 10 for *_, s in rows)
    assert len({(y, r, u) for y, r, u, _ in rows}) == len(rows)
    units = dict(con.execute("""
        SELECT 'people', list(DISTINCT entity_id) FROM entities
        WHERE level = 'region' AND (valid_from IS NULL OR valid_from::DATE <= DATE '2026-12-31')
          AND (valid_to IS NULL OR valid_to::DATE >= DATE '2026-01-01')
        UNION ALL
        SELECT 'insta_akims', list(page_id) FROM pages
        WHERE platform = 'instagram' AND page_kind = 'akim_personal'
          AND (active_from IS NULL OR active_from::DATE <= DATE '2026-12-31')
          AND (active_to IS NULL OR active_to::DATE >= DATE '2026-01-01')""").fetchall())
    for rating, expected in units.items():
        scored = {u for _, r, u, _ in rows if r == rating}
        assert scored <= set(expected), rating
        assert len(scored) == len(expected) - 2, f"{rating}: a couple of units have no score"


def test_generated_registry_and_inbox_land(run: tuple[Path, dict], tmp_path: Path) -> None:
    out, summary = run
    with connect(tmp_path / "w.duckdb") as con:
        counts = load_registry(con, out / "registry")
        assert counts["expert_scores"] == summary["datasets"]["expert_scores"]["rows"]
        assert con.execute(
            "SELECT count(*) FROM registry.entities WHERE level = 'body'").fetchone()[0] == len(
            gen.BODIES)
        report = land_inbox(con, out / "inbox", "r1")
        assert report.unknown_paths == []
        assert report.rows_loaded["incidents"] > 200
        reasons = [r for (r,) in con.execute("""
            SELECT reason FROM ops.quarantine WHERE run_id = 'r1' AND file LIKE 'incidents/%'
            """).fetchall()]
    # the unknown body may be quarantined too (a landing check): not asserted here
    assert any("answer_quality" in r and "7" in r for r in reasons)
    assert any("satisfaction" in r and gen.BAD_SATISFACTION in r for r in reasons)


# ---------------------------------------------------------------- pages at larger scales


@pytest.fixture(scope="module")
def paged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Scale 0.005: 250 pages, of which 79 are generated (100,000 mentions)."""
    out = tmp_path_factory.mktemp("gen_pages")
    return out, gen.generate(out, weeks=1, scale=0.005)


def test_pages_grow_with_the_scale(paged: tuple[Path, dict], run: tuple[Path, dict],
                                   tmp_path: Path) -> None:
    out, summary = paged
    source = (gen.DEFAULT_REGISTRY / "pages.csv").read_bytes()
    written = (out / "registry" / "pages.csv").read_bytes()
    assert written.startswith(source), "the registry's own lines keep their bytes"
    with connect(tmp_path / "w.duckdb") as con:
        counts = load_registry(con, out / "registry")  # a valid registry
        assert counts["pages"] == 250 == summary["pages_added"] + source.count(b"\n") - 1
        added = con.execute(f"""
            SELECT p.page_kind, p.platform, e.level, count(*)
            FROM registry.pages p JOIN registry.entities e USING (entity_id)
            WHERE p.page_id NOT IN (SELECT page_id FROM read_csv(
                '{gen.DEFAULT_REGISTRY}/pages.csv', all_varchar = true))
              AND e.valid_to IS NULL
            GROUP BY ALL""").fetchall()
    assert sum(n for *_, n in added) == summary["pages_added"] == 79
    kinds = {kind for kind, *_ in added}  # 3 official, 4 akims', 72 institutions' pages
    assert {"akim_personal", "other"} <= kinds <= {
        "official_region", "official_district", "akim_personal", "other"}
    assert kinds & {"official_region", "official_district"}
    assert {p for k, p, _, _ in added if k == "akim_personal"} == {"instagram"}
    assert {lvl for k, _, lvl, _ in added if k == "akim_personal"} <= {*MUNICIPAL_LEVELS}
    # every week dataset grows, and only names pages of the registry
    per_week = {name: entry["rows"] / 2 for name, entry in run[1]["datasets"].items()}
    for name in ("page_snapshots", "page_posts", "post_interactions", "follower_audits"):
        assert summary["datasets"][name]["rows"] > per_week[name], name
    con = duckdb.connect()
    inbox, reg = out / "inbox", out / "registry"
    for name, reader in (("page_snapshots", "read_json"), ("page_posts", "read_json"),
                         ("post_interactions", "read_json"), ("follower_audits", "read_csv")):
        orphans, generated = con.execute(f"""
            WITH p AS (SELECT * FROM read_csv('{reg}/pages.csv', all_varchar = true)),
            d AS (SELECT platform, platform_page_id::VARCHAR AS platform_page_id
                  FROM {reader}('{inbox}/{name}/*'))
            SELECT count(*) FILTER (WHERE p.page_id IS NULL),
                   count(DISTINCT p.page_id) FILTER (WHERE p.page_id NOT IN (
                       SELECT page_id FROM read_csv('{gen.DEFAULT_REGISTRY}/pages.csv',
                                                    all_varchar = true)))
            FROM d LEFT JOIN p USING (platform, platform_page_id)""").fetchone()
        assert orphans == 0, name
        assert generated > 0, f"{name}: generated pages have rows too"


def test_a_national_registry_has_50000_pages(tmp_path: Path) -> None:
    """Scale 1: the registry copy holds 50,000 pages, valid, with unique native ids."""
    shutil.copytree(gen.DEFAULT_REGISTRY, tmp_path / "registry")
    con = duckdb.connect()
    gen._setup(con, 42, tmp_path / "registry", [date(2026, 11, 13)])
    added = gen._add_pages(con, tmp_path / "registry", gen.PAGES_AT_SCALE_1, tmp_path)
    with connect(tmp_path / "w.duckdb") as warehouse:
        assert load_registry(warehouse, tmp_path / "registry")["pages"] == 50_000
        kinds = dict(warehouse.execute("""
            SELECT page_kind, count(*) FROM registry.pages GROUP BY ALL""").fetchall())
        platforms = dict(warehouse.execute("""
            SELECT platform, count(*) FROM registry.pages GROUP BY ALL""").fetchall())
        units = warehouse.execute("""
            SELECT count(DISTINCT entity_id) FROM registry.entities
            WHERE valid_to IS NULL AND level <> 'body'""").fetchone()[0]
    source = (gen.DEFAULT_REGISTRY / "pages.csv").read_bytes().count(b"\n") - 1
    assert added == 50_000 - source
    # official pages on all 7 platforms for every current unit; ~2,500 akims' pages
    assert kinds["official_region"] + kinds["official_district"] == 7 * units
    assert 2_400 <= kinds["akim_personal"] <= 2_600
    assert set(platforms) == set(PLATFORMS)
    assert platforms["instagram"] > platforms["facebook"] > platforms["x"]


def test_apportion_and_slugs() -> None:
    assert gen._apportion(10, [1, 1, 1]) == [4, 3, 3]
    assert gen._apportion(7, [0, 5, 2]) == [0, 5, 2]
    assert gen._apportion(3, [0, 0]) == [2, 1]
    assert sum(gen._apportion(49_829, [3, 1_000_000, 17])) == 49_829
    assert gen._slug("Қарасай ауданы") == "qarasay_audany"
    assert gen._slug("Әл фараби ауданы") == "al_farabi_audany"
    assert gen._kk_genitive("Абай ауданы") == "Абай ауданының"
