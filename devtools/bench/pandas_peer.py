"""The pandas peer: «Что говорит народ» (METHODOLOGY §0 + §1) as an analyst would script it.

Read the week's mention CSVs and the registry with pandas, drop what the landing contract
quarantines, deduplicate, filter, match aliases with regular expressions, group, rank. Plain
idiomatic pandas: one regex per region over the texts, groupby for the indicators, Series.rank
for the places. Same output as `devtools.bench.floor.floor_rating`.

Like the floor it reads canonical mention CSVs only. pandas skips a CSV record with too many
fields but pads one with too few (the landing rejects both); the generated inboxes have none.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from devtools.bench.floor import COLUMNS, INDICATORS
from govpulse import methodology
from govpulse.contract import AUTHOR_TYPES, PLATFORMS, SENTIMENTS

COUNTS = ("author_audience", "likes", "comments", "reposts", "views")
# "not preceded / followed by a letter or digit of any script": [^\W_] is exactly str.isalnum
NOT_WORD_BEFORE, NOT_WORD_AFTER = r"(?<![^\W_])", r"(?![^\W_])"
# an offset after the time of day ("2026-11-13" alone ends in "-13", which is no offset)
OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def _csv(path: Path) -> pd.DataFrame:
    # text as text: only an empty cell is missing ("NA" or "null" are values)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                       on_bad_lines="skip")


def _stripped(s: pd.Series) -> pd.Series:
    s = s.str.strip()
    return s.mask(s == "")


def _timestamps(s: pd.Series, tz: str) -> pd.Series:
    """ISO-8601 text as UTC instants; no offset = local time of `tz` (METHODOLOGY §0)."""
    with_offset = s.str.contains(OFFSET, na=False)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    out[with_offset] = pd.to_datetime(s[with_offset], format="ISO8601", utc=True,
                                      errors="coerce")
    local = pd.to_datetime(s[~with_offset], format="ISO8601", errors="coerce")
    out[~with_offset] = local.dt.tz_localize(tz).dt.tz_convert("UTC")
    return out


def _landed(raw: pd.DataFrame, tz: str) -> pd.DataFrame:
    """The rows the landing contract accepts (govpulse/contract.py), typed."""
    m = pd.DataFrame({
        "platform": _stripped(raw["platform"]).str.lower(),
        "mention_id": _stripped(raw["mention_id"]),
        "published_at": _timestamps(_stripped(raw["published_at"]), tz),
        "text": raw["text"],
        "author_id": _stripped(raw["author_id"]),
        "author_type": _stripped(raw["author_type"]).str.lower(),
        "source_id": _stripped(raw["source_id"]),
        "sentiment": _stripped(raw["sentiment"]).str.lower(),
        "entity_id": _stripped(raw["entity_id"]),
    })
    ok = (m.platform.isin(PLATFORMS) & m.mention_id.notna() & m.published_at.notna()
          & m.author_id.notna() & m.author_type.isin(AUTHOR_TYPES)
          & m.sentiment.isin(SENTIMENTS))
    for column in COUNTS:
        cell = _stripped(raw[column])
        value = pd.to_numeric(cell.str.replace(r"\.0*$", "", regex=True), errors="coerce")
        valid = cell.str.fullmatch(r"[+-]?[0-9]+(\.0*)?", na=False) & (value >= 0)
        ok &= cell.isna() | valid
        m[column] = value
    m = m[ok].copy()
    m["engagement"] = m[["likes", "comments", "reposts"]].fillna(0).sum(axis=1).astype("int64")
    return m


def _round(x: pd.Series, digits: int) -> pd.Series:
    """Half away from zero (pandas' round is half to even)."""
    scaled = x * 10**digits
    rounded = np.rint(scaled)
    tie = (scaled - np.trunc(scaled)).abs() == 0.5
    rounded[tie] = np.trunc(scaled[tie]) + np.sign(scaled[tie])
    return rounded / 10**digits


def _regions(registry_dir: Path, period_start: date) -> pd.DataFrame:
    """Regions active in the week with the population that applies (METHODOLOGY §0)."""
    period_end = pd.Timestamp(period_start + timedelta(days=7))
    e = _csv(registry_dir / "entities.csv")
    for optional in ("valid_from", "valid_to"):
        if optional not in e:
            e[optional] = None
    valid_from = pd.to_datetime(_stripped(e.valid_from))
    valid_to = pd.to_datetime(_stripped(e.valid_to))
    active = ((_stripped(e.level) == "region")
              & (valid_from.isna() | (valid_from < period_end))
              & (valid_to.isna() | (valid_to >= pd.Timestamp(period_start))))
    regions = pd.DataFrame({"unit_id": _stripped(e.entity_id)[active].unique()})

    p = _csv(registry_dir / "populations.csv")
    p = pd.DataFrame({"unit_id": _stripped(p.entity_id),
                      "population": pd.to_numeric(_stripped(p.population)),
                      "date": pd.to_datetime(_stripped(p.population_date))})
    before = p[p.date < period_end].sort_values("date").groupby("unit_id").population.last()
    after = p[p.date >= period_end].sort_values("date").groupby("unit_id").population.first()
    population = before.combine_first(after).rename("population")
    return regions.merge(population, left_on="unit_id", right_index=True, how="left")


def _alias_patterns(registry_dir: Path, regions: pd.DataFrame) -> dict[str, re.Pattern]:
    """One regex per region: any of its aliases as a whole word (case and ё already folded)."""
    a = _csv(registry_dir / "aliases.csv")
    a = a[a.alias.notna() & (a.alias.str.strip() != "")]
    a = a.assign(unit_id=_stripped(a.entity_id),
                 alias=a.alias.str.lower().str.replace("ё", "е"))
    a = a[a.unit_id.isin(regions.unit_id)]
    return {
        unit: re.compile(NOT_WORD_BEFORE + "(?:" + "|".join(map(re.escape, sorted(set(words))))
                         + ")" + NOT_WORD_AFTER)
        for unit, words in a.groupby("unit_id").alias
    }


def _tied(eligible: pd.DataFrame, regions: pd.DataFrame,
          patterns: dict[str, re.Pattern]) -> pd.DataFrame:
    """One row per (mention, region) (METHODOLOGY §1.5)."""
    by_id = eligible[eligible.entity_id.isin(regions.unit_id)].assign(
        unit_id=lambda d: d.entity_id)
    searched = eligible[eligible.entity_id.isna() & eligible.text.notna()]
    texts = searched.text.str.lower().str.replace("ё", "е")
    by_alias = [searched[texts.str.contains(pattern)].assign(unit_id=unit)
                for unit, pattern in patterns.items()]
    return pd.concat([by_id, *by_alias], ignore_index=True)


def pandas_rating(mention_files: list[Path], registry_dir: Path,
                  period_start: date) -> list[dict]:
    """The week's people rating, one dict per region (keys: floor.COLUMNS), by final place."""
    params = methodology.parameters()
    tz = params["timezone"]

    # load order: file name in byte order, then line (METHODOLOGY §0 identities)
    files = sorted(mention_files, key=lambda p: p.name.encode())
    raw = pd.concat([_csv(f) for f in files], ignore_index=True)
    m = _landed(raw, tz)
    m = m.drop_duplicates(["platform", "mention_id"], keep="last")
    start = pd.Timestamp(period_start).tz_localize(tz)
    end = pd.Timestamp(period_start + timedelta(days=7)).tz_localize(tz)
    week = m[(m.published_at >= start) & (m.published_at < end)]

    # mass sharers: counted over all of the week's mentions (§1.4)
    per_author = (week.assign(source=week.source_id.fillna(""))
                  .groupby(["platform", "author_id"])
                  .agg(n=("mention_id", "size"), sources=("source", "nunique")))
    spam = per_author[(per_author.n >= params["spam_min_posts"])
                      & (per_author.sources >= params["spam_min_sources"])].index

    excluded = _csv(registry_dir / "excluded_sources.csv")
    excluded = pd.MultiIndex.from_arrays([_stripped(excluded.platform),
                                          _stripped(excluded.source_id)])
    eligible = week[(week.author_type == "person")
                    & ~pd.MultiIndex.from_frame(week[["platform", "source_id"]]).isin(excluded)
                    & ~pd.MultiIndex.from_frame(week[["platform", "author_id"]]).isin(spam)]

    regions = _regions(registry_dir, period_start)
    tied = _tied(eligible, regions, _alias_patterns(registry_dir, regions))

    volume = tied.groupby("unit_id").agg(mentions=("mention_id", "size"),
                                         engagement=("engagement", "sum"))
    audience = (tied[tied.sentiment.isin(["positive", "negative"])]
                .assign(audience=lambda d: d.author_audience.fillna(0))
                .groupby(["unit_id", "sentiment", "platform", "author_id"]).audience.max()
                .groupby(["unit_id", "sentiment"]).sum().unstack(fill_value=0)
                .reindex(columns=["positive", "negative"], fill_value=0))
    net = (audience.positive - audience.negative).rename("sentiment_audience_net")

    r = regions.set_index("unit_id").join(volume).join(net)
    r[["mentions", "engagement", "sentiment_audience_net"]] = (
        r[["mentions", "engagement", "sentiment_audience_net"]].fillna(0).astype("int64"))
    r["engagement_per_1k_pop"] = _round(r.engagement / r.population * 1000,
                                        int(params["round_digits"]))

    method = {"competition": "min", "dense": "dense"}[params["tie_rule"]]
    weights = methodology.weights("people")
    r["penalty_points"] = 0.0
    for name in INDICATORS:
        r[f"place_{name}"] = r[name].rank(method=method, ascending=False, na_option="bottom")
        r["penalty_points"] += r[f"place_{name}"] * weights[name]
    tiebreak = params["final_tiebreak"]
    # with a tie-break, order by (penalty points, place of that indicator)
    key = (r.penalty_points if tiebreak not in INDICATORS
           else r.groupby(["penalty_points", f"place_{tiebreak}"]).ngroup())
    r["final_place"] = key.rank(method=method).astype("int64")

    r = r.reset_index().sort_values(["final_place", "unit_id"])
    out = r[list(COLUMNS)].astype(object).where(r[list(COLUMNS)].notna(), None)
    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in out.to_dict(orient="records")
    ]
