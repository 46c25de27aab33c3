"""Plain words for a failed expectation: what failed, how many rows, where to look.

A run that validation stops must tell the operator what to fix without opening GX's JSON:
the dataset or rating, the rule in words (each expectation's `description` in
expectations/*.json), how many rows broke it and a few of them by where they are (file:line
of a raw row, unit id of a rating row, platform of a fetch) — never a raw value, which may be
a private person's id or text.
"""

from __future__ import annotations

from typing import Any

# What the rows of each suite are, in words.
SUBJECTS = {
    "raw_mentions": "mentions",
    "raw_page_snapshots": "page snapshots",
    "raw_page_posts": "page posts",
    "raw_post_interactions": "post interactions",
    "raw_follower_audits": "follower audits",
    "raw_incidents": "incidents",
    "raw_fakes": "fakes",
    "fetch_completeness": "fetch_completeness (pages fetched per platform)",
    "people_ranked": "«Что говорит народ» (people) rating",
    "region_pages_ranked": "regional official pages rating",
    "district_pages_ranked": "district official pages rating",
    "insta_akims_ranked": "«Инста-акимы» rating",
    "incidents_ranked": "incident-response rating",
    "annual_ranked": "annual tables",
    "fakes_report": "monthly fakes report",
}
# Where to look, by the suite's stage.
ADVICE = {
    "raw": "fix or remove the file named and drop a corrected one into the inbox; see "
           "ops.quarantine and ops.validations for this run",
    "candidates": "the rating computed from this period's inputs breaks a rule of the "
                  "methodology: see ops.validations for this run and the dbt logs",
}
EXAMPLES = 3


def subject(suite: str) -> str:
    return SUBJECTS.get(suite, suite)


def rule_of(expectation: str, kwargs: dict[str, Any]) -> str:
    """An expectation without a description, in words from its type and arguments."""
    column = f"`{kwargs['column']}`" if kwargs.get("column") else "the rows"
    words = {
        "expect_column_values_to_not_be_null": f"{column} is filled in",
        "expect_column_values_to_be_in_set": f"{column} is one of the allowed values",
        "expect_column_values_to_be_between": f"{column} is {_range(kwargs)}",
        "expect_column_values_to_be_unique": f"{column} is unique",
        "expect_column_values_to_match_regex": f"{column} has the expected form",
        "expect_compound_columns_to_be_unique":
            f"({', '.join(kwargs.get('column_list') or [])}) is unique",
        "expect_table_columns_to_match_set": "the table has the contract's columns",
    }
    return words.get(expectation, f"{expectation.removeprefix('expect_')} ({column})")


def _range(kwargs: dict[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if high is None:
        return f"at least {low:g}" if isinstance(low, (int, float)) else f"at least {low}"
    if low is None:
        return f"at most {high}"
    return f"between {low} and {high}"


def explain(suite: str, description: str | None, result: dict[str, Any],
            index_columns: list[str] | None = None, expectation: str = "",
            kwargs: dict[str, Any] | None = None) -> str:
    """One sentence: '<subject>: <rule> — <n> of <N> rows break it, e.g. <where>'."""
    rule = (description or "").rstrip(".") or rule_of(expectation, kwargs or {})
    text = f"{subject(suite)}: {rule}"
    if "unexpected_count" in result:
        count, total = result["unexpected_count"], result.get("element_count")
        text += f" — {count:,} of {total:,} rows break it" if total is not None else (
            f" — {count:,} rows break it")
        where = _where(result.get("partial_unexpected_index_list") or [], index_columns or [])
        if where:
            text += f", e.g. {', '.join(where)}"
    elif "observed_value" in result:
        observed = result["observed_value"]
        if isinstance(observed, (int, float, str)):
            text += f" — observed {observed}"
    return text


def _where(rows: list[Any], index_columns: list[str]) -> list[str]:
    """Where the first offending rows are: file:line, or their public key columns."""
    shown: list[str] = []
    for row in rows[:EXAMPLES]:
        if not isinstance(row, dict):
            continue
        if row.get("_file") is not None:
            shown.append(f"{row['_file']}:{row.get('_line', '?')}")
        else:
            keys = [f"{c} {row[c]}" for c in index_columns if row.get(c) is not None][:2]
            if keys:
                shown.append(" ".join(keys))
    return shown


# Suites and checks whose failure message says itself what to do (the setting, the page, the
# file, the inbox folder).
SELF_EXPLAINED = frozenset({"fetch_completeness", "landing_conservation", "inputs_present"})


def advice(stage: str, failed: set[tuple[str, str]] | frozenset = frozenset()) -> str:
    """What to do about these (suite, expectation) failures at this stage ('' when each says it
    itself)."""
    if failed and all(suite in SELF_EXPLAINED or expectation in SELF_EXPLAINED
                      for suite, expectation in failed):
        return ""
    return ADVICE.get(stage, "")
