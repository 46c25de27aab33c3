"""The synthetic inbox is deterministic, readable and exercises the methodology's edge cases."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingestion import generate as gen

SCALE = 0.0002  # ~4,000 mentions a week: fast, yet every special case is present


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
    """)
    return con


def test_summary_and_layout(run: tuple[Path, dict]) -> None:
    out, summary = run
    assert summary["period_starts"] == ["2026-11-06", "2026-11-13"]
    assert set(summary["datasets"]) == {
        "mentions", "page_snapshots", "page_posts", "post_interactions", "follower_audits"}
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


def test_other_seed_other_bytes(run: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = run
    gen.generate(tmp_path, scale=SCALE, seed=7)
    theirs, ours = digests(tmp_path / "inbox"), digests(out / "inbox")
    assert theirs.keys() == ours.keys()
    assert all(theirs[k] != ours[k] for k in ours)


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
