"""The floor: «Что говорит народ» (METHODOLOGY §0 + §1) as ONE DuckDB statement over raw files.

The least work any correct system must do for the people rating: read the week's mention CSVs
and the registry CSVs, drop the rows the landing contract quarantines, deduplicate, filter,
tie to regions, compute P1–P4, rank. No warehouse, no lineage, no validation, no history.

The statement takes named parameters: `$mention_files` (list of CSV paths, in load order), the
registry CSVs (`$entities`, `$populations`, `$aliases`, `$excluded_sources`), `$period_start`
(a DATE) and the methodology parameters of dbt_project.yml (`$tz`, `$spam_min_posts`,
`$spam_min_sources`, `$round_digits`, `$tie_rule`, `$final_tiebreak`, `$w_<indicator>`).
It reads canonical mention CSVs only (CONTRACTS §3): social-listening export formats and the
connectors' API captures, which the warehouse also lands, are out of its scope.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from govpulse import methodology
from govpulse.contract import AUTHOR_TYPES, PLATFORMS, SENTIMENTS

FLOOR_MEMORY_LIMIT_ENV = "GOVPULSE_FLOOR_MEMORY_LIMIT"
# Columns of every result row, in order.
COLUMNS = ("unit_id", "mentions", "engagement", "engagement_per_1k_pop",
           "sentiment_audience_net", "penalty_points", "final_place")
INDICATORS = ("mentions", "engagement", "engagement_per_1k_pop", "sentiment_audience_net")

# A count cell the contract accepts (ingestion/landing.py): digits, optionally ".000".
_COUNT_RE = r"'[+-]?[0-9]+(\.0*)?'"
# a letter or digit of any script (METHODOLOGY §1.5 whole words)
_WORD = r"[\p{L}\p{N}]"


def _count(column: str) -> str:
    """The cell as BIGINT (NULL when empty or not a count: DuckDB's cast alone would also take
    '1.5', '1e3' or '0x10', which the contract rejects)."""
    v = f"nullif(trim({column}), '')"
    return f"CASE WHEN regexp_full_match({v}, {_COUNT_RE}) THEN try_cast({v} AS BIGINT) END"


def _count_ok(column: str) -> str:
    """Empty, or a count >= 0 (else the landing quarantines the row)."""
    return f"(nullif(trim({column}), '') IS NULL OR {_count(column)} >= 0)"


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_COUNTS = ("author_audience", "likes", "comments", "reposts", "views")

FLOOR_SQL = f"""
WITH
week AS (
    SELECT timezone($tz, $period_start::TIMESTAMP) AS ts_from,
           timezone($tz, ($period_start + INTERVAL 7 DAY)::TIMESTAMP) AS ts_to,
           ($period_start + INTERVAL 7 DAY)::DATE AS period_end
),
-- every row as text, like the landing reads it; structurally broken CSV records are skipped
-- (the landing quarantines them)
cells AS (
    SELECT *, file_index
    FROM read_csv($mention_files, all_varchar = true, header = true, delim = ',', quote = '"',
                  escape = '"', union_by_name = true, ignore_errors = true)
         WITH ORDINALITY
),
-- the rows the landing contract accepts, typed (govpulse/contract.py)
landed AS (
    SELECT nullif(lower(trim(platform)), '') AS platform,
           nullif(trim(mention_id), '') AS mention_id,
           try_cast(nullif(trim(published_at), '') AS TIMESTAMPTZ) AS published_at,
           nullif(text, '') AS text,
           nullif(trim(author_id), '') AS author_id,
           nullif(lower(trim(author_type)), '') AS author_type,
           {_count('author_audience')} AS author_audience,
           nullif(trim(source_id), '') AS source_id,
           coalesce({_count('likes')}, 0) + coalesce({_count('comments')}, 0)
               + coalesce({_count('reposts')}, 0) AS engagement,
           nullif(lower(trim(sentiment)), '') AS sentiment,
           nullif(trim(entity_id), '') AS entity_id,
           file_index, ordinality
    FROM cells
    WHERE nullif(lower(trim(platform)), '') IN ({_in(PLATFORMS)})
      AND nullif(trim(mention_id), '') IS NOT NULL
      AND try_cast(nullif(trim(published_at), '') AS TIMESTAMPTZ) IS NOT NULL
      AND nullif(trim(author_id), '') IS NOT NULL
      AND nullif(lower(trim(author_type)), '') IN ({_in(AUTHOR_TYPES)})
      AND nullif(lower(trim(sentiment)), '') IN ({_in(SENTIMENTS)})
      AND {' AND '.join(_count_ok(c) for c in _COUNTS)}
),
-- §0 identities: the latest loaded copy wins (file later in byte order, then later line:
-- $mention_files comes sorted by name, so file_index is the load order);
-- §1.1 kept when that copy was published within the week
mentions AS (
    SELECT landed.*
    FROM landed, week
    QUALIFY row_number() OVER (PARTITION BY platform, mention_id
                               ORDER BY file_index DESC, ordinality DESC) = 1
        AND published_at >= week.ts_from AND published_at < week.ts_to
),
-- §1.4 over all of the week's mentions, whatever their type, source or entity
mass_sharers AS (
    SELECT platform, author_id
    FROM mentions
    GROUP BY ALL
    HAVING count(*) >= $spam_min_posts
       AND count(DISTINCT coalesce(source_id, '')) >= $spam_min_sources
),
excluded_sources AS (
    SELECT DISTINCT trim(platform) AS platform, trim(source_id) AS source_id
    FROM read_csv($excluded_sources, all_varchar = true, header = true)
),
-- §1.2–1.4
eligible AS (
    SELECT m.platform, m.mention_id, m.author_id, m.author_audience, m.sentiment,
           m.engagement, m.entity_id, m.text
    FROM mentions m
    ANTI JOIN excluded_sources x ON x.platform = m.platform AND x.source_id = m.source_id
    ANTI JOIN mass_sharers s ON s.platform = m.platform AND s.author_id = m.author_id
    WHERE m.author_type = 'person'
),
entity_versions AS (
    SELECT trim(entity_id) AS entity_id, trim(level) AS level,
           try_cast(nullif(trim(valid_from), '') AS DATE) AS valid_from,
           try_cast(nullif(trim(valid_to), '') AS DATE) AS valid_to
    FROM (SELECT * FROM read_csv($entities, all_varchar = true, header = true)
          -- valid_from / valid_to are optional columns of entities.csv
          UNION ALL BY NAME
          SELECT NULL::VARCHAR AS valid_from, NULL::VARCHAR AS valid_to WHERE false)
),
-- §0 participation and population: regions active in the week
regions AS (
    SELECT DISTINCT v.entity_id
    FROM entity_versions v, week
    WHERE v.level = 'region'
      AND (v.valid_from IS NULL OR v.valid_from < week.period_end)
      AND (v.valid_to IS NULL OR v.valid_to >= $period_start)
),
populations AS (
    SELECT trim(p.entity_id) AS entity_id,
           coalesce(
               max_by(p.population, p.population_date)
                   FILTER (WHERE p.population_date < week.period_end),
               min_by(p.population, p.population_date)
                   FILTER (WHERE p.population_date >= week.period_end)) AS population
    FROM (SELECT entity_id, trim(population)::BIGINT AS population,
                 trim(population_date)::DATE AS population_date
          FROM read_csv($populations, all_varchar = true, header = true)) p, week
    GROUP BY ALL
),
-- each alias keyed by its rarest word among the aliases (a maximal run of letters / digits;
-- the longest of equally rare ones): a whole-word occurrence of the alias has that word as a
-- whole word of the text, so texts are joined to aliases on their words (a hash join)
-- instead of testing every alias against every text
alias_words AS (
    SELECT unit_id, alias, word, count(*) OVER (PARTITION BY word) AS aliases_with_word
    FROM (SELECT trim(a.entity_id) AS unit_id, replace(lower(a.alias), 'ё', 'е') AS alias,
                 -- an alias without letters or digits keeps one row, word NULL
                 unnest(coalesce(nullif(regexp_extract_all(replace(lower(a.alias), 'ё', 'е'),
                                                           '{_WORD}+'), []),
                                 [NULL])) AS word
          FROM read_csv($aliases, all_varchar = true, header = true) a
          SEMI JOIN regions r ON r.entity_id = trim(a.entity_id)
          WHERE trim(a.alias) <> '')
),
aliases AS (
    SELECT unit_id, alias, arg_min(word, (aliases_with_word, -length(word))) AS word
    FROM alias_words GROUP BY ALL
),
texts AS (
    SELECT platform, mention_id, replace(lower(text), 'ё', 'е') AS text
    FROM eligible WHERE entity_id IS NULL AND text IS NOT NULL
),
text_words AS (
    SELECT platform, mention_id, text,
           unnest(regexp_extract_all(text, '{_WORD}+')) AS word
    FROM texts
),
candidates AS (
    SELECT t.platform, t.mention_id, t.text, a.unit_id, a.alias
    FROM text_words t JOIN aliases a USING (word)
    UNION ALL
    SELECT t.platform, t.mention_id, t.text, a.unit_id, a.alias
    FROM texts t JOIN aliases a ON a.word IS NULL AND contains(t.text, a.alias)
),
-- every occurrence of the alias, split out: whole word when the text before it does not end
-- and the text after it does not start with a letter or digit (a constant regex, compiled
-- once; a pattern built per row would be compiled per row)
occurrences AS (
    SELECT platform, mention_id, unit_id, parts, unnest(range(1, len(parts))) AS i
    FROM (SELECT *, string_split(text, alias) AS parts FROM candidates)
),
alias_ties AS (
    SELECT DISTINCT platform, mention_id, unit_id
    FROM occurrences
    WHERE NOT regexp_matches(parts[i], '{_WORD}$')
      AND NOT regexp_matches(parts[i + 1], '^{_WORD}')
),
-- §1.5: by entity_id when given (the text is then not searched), else by aliases as whole
-- words (neither preceded nor followed by a letter or digit of any script)
tied AS (
    SELECT e.* EXCLUDE (text, entity_id), e.entity_id AS unit_id
    FROM eligible e SEMI JOIN regions r ON r.entity_id = e.entity_id
    UNION ALL
    SELECT e.* EXCLUDE (text, entity_id), t.unit_id
    FROM eligible e JOIN alias_ties t USING (platform, mention_id)
),
volume AS (
    SELECT unit_id, count(*) AS mentions, sum(engagement) AS engagement
    FROM tied GROUP BY unit_id
),
-- P4: each distinct author once per sentiment, with his largest audience
audiences AS (
    SELECT unit_id, sentiment, max(coalesce(author_audience, 0)) AS audience
    FROM tied
    WHERE sentiment IN ('positive', 'negative')
    GROUP BY unit_id, sentiment, platform, author_id
),
net AS (
    SELECT unit_id,
           coalesce(sum(audience) FILTER (WHERE sentiment = 'positive'), 0)
               - coalesce(sum(audience) FILTER (WHERE sentiment = 'negative'), 0) AS net
    FROM audiences GROUP BY unit_id
),
indicators AS (
    SELECT r.entity_id AS unit_id,
           coalesce(v.mentions, 0)::BIGINT AS mentions,
           coalesce(v.engagement, 0)::BIGINT AS engagement,
           round((coalesce(v.engagement, 0) / p.population * 1000)::DOUBLE, $round_digits)
               AS engagement_per_1k_pop,
           coalesce(n.net, 0)::BIGINT AS sentiment_audience_net
    FROM regions r
    LEFT JOIN populations p USING (entity_id)
    LEFT JOIN volume v ON v.unit_id = r.entity_id
    LEFT JOIN net n ON n.unit_id = r.entity_id
),
-- §0 places: higher is better for all four; NULLs share the last place
placed AS (
    SELECT *,
           CASE WHEN $tie_rule = 'dense' THEN dense_rank() OVER w1 ELSE rank() OVER w1 END
               AS place_mentions,
           CASE WHEN $tie_rule = 'dense' THEN dense_rank() OVER w2 ELSE rank() OVER w2 END
               AS place_engagement,
           CASE WHEN $tie_rule = 'dense' THEN dense_rank() OVER w3 ELSE rank() OVER w3 END
               AS place_engagement_per_1k_pop,
           CASE WHEN $tie_rule = 'dense' THEN dense_rank() OVER w4 ELSE rank() OVER w4 END
               AS place_sentiment_audience_net
    FROM indicators
    WINDOW w1 AS (ORDER BY mentions DESC NULLS LAST),
           w2 AS (ORDER BY engagement DESC NULLS LAST),
           w3 AS (ORDER BY engagement_per_1k_pop DESC NULLS LAST),
           w4 AS (ORDER BY sentiment_audience_net DESC NULLS LAST)
),
scored AS (
    SELECT *,
           (place_mentions * $w_mentions + place_engagement * $w_engagement
            + place_engagement_per_1k_pop * $w_engagement_per_1k_pop
            + place_sentiment_audience_net * $w_sentiment_audience_net)::DOUBLE
               AS penalty_points,
           CASE $final_tiebreak
               WHEN 'mentions' THEN place_mentions
               WHEN 'engagement' THEN place_engagement
               WHEN 'engagement_per_1k_pop' THEN place_engagement_per_1k_pop
               WHEN 'sentiment_audience_net' THEN place_sentiment_audience_net
           END AS tiebreak_place
    FROM placed
)
SELECT unit_id, mentions, engagement, engagement_per_1k_pop, sentiment_audience_net,
       penalty_points,
       (CASE WHEN $tie_rule = 'dense' THEN dense_rank() OVER f ELSE rank() OVER f END)::INTEGER
           AS final_place
FROM scored
WINDOW f AS (ORDER BY penalty_points ASC, tiebreak_place ASC NULLS LAST)
ORDER BY final_place, unit_id
"""


def parameters(mention_files: list[Path], registry_dir: Path,
               period_start: date) -> dict[str, Any]:
    """The named parameters of FLOOR_SQL, methodology values from dbt_project.yml."""
    m = methodology.parameters()
    weights = methodology.weights("people")
    return {
        # load order (METHODOLOGY §0): file name in byte order
        "mention_files": [str(p) for p in sorted(mention_files, key=lambda p: p.name.encode())],
        "entities": str(registry_dir / "entities.csv"),
        "populations": str(registry_dir / "populations.csv"),
        "aliases": str(registry_dir / "aliases.csv"),
        "excluded_sources": str(registry_dir / "excluded_sources.csv"),
        "period_start": period_start,
        "tz": m["timezone"],
        "spam_min_posts": int(m["spam_min_posts"]),
        "spam_min_sources": int(m["spam_min_sources"]),
        "round_digits": int(m["round_digits"]),
        "tie_rule": m["tie_rule"],
        "final_tiebreak": m["final_tiebreak"],
        **{f"w_{name}": weights[name] for name in INDICATORS},
    }


def floor_rating(mention_files: list[Path], registry_dir: Path,
                 period_start: date) -> list[dict]:
    """The week's people rating, one dict per region (keys: COLUMNS), by final place."""
    if not mention_files:
        raise ValueError("no mention files for the week")
    # the floor is the least work, not held to the pipeline's budget: DuckDB's own memory default
    # (80 % of RAM) unless GOVPULSE_FLOOR_MEMORY_LIMIT says otherwise. Under the pipeline's 2 GB
    # a national week's statement runs out of memory (it cannot spill all of it).
    with tempfile.TemporaryDirectory(prefix="govpulse-floor-") as scratch:
        config: dict[str, Any] = {"temp_directory": scratch}
        if os.environ.get(FLOOR_MEMORY_LIMIT_ENV):
            config["memory_limit"] = os.environ[FLOOR_MEMORY_LIMIT_ENV]
        con = duckdb.connect(config=config)
        try:
            # naive timestamps in the files are Asia/Almaty wall-clock time (METHODOLOGY §0)
            con.execute(f"SET TimeZone = '{methodology.parameters()['timezone']}'")
            rows = con.execute(FLOOR_SQL,
                               parameters(mention_files, registry_dir, period_start)).fetchall()
        finally:
            con.close()
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]
