"""Keep private persons out of `ops.validations`, which is published.

Raw input (every string of a raw suite) and the private columns of `suites.PRIVATE_COLUMNS`
may name a person: what validation records of them is counts and where the rows are
(`_file`, `_line`), never their values. The GX results with the values stay private
(govpulse.publish.data_docs withholds them the same way).
"""

from __future__ import annotations

import numbers
import re
from typing import Any

from govpulse.quality import suites as vs


def is_private_suite(suite: str) -> bool:
    """Raw suites see rows of raw input: any string in them may be a private person's id,
    name or text (a shifted column puts an author id into `author_type`)."""
    return suite in vs.RAW_DATASETS


WITHHELD = "(withheld)"  # a raw value that may identify a person
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_LINEAGE_KEYS = frozenset({"_file", "_line", "_load_id"})  # where an offending row is


def example(value: Any, withhold: bool) -> Any:
    """One offending value or row for ops.validations. Private columns are dropped from rows;
    with `withhold`, strings are replaced (numbers, e.g. a negative count, say what is wrong
    without saying who), and the lineage columns `_file` / `_line` stay to find the row."""
    if isinstance(value, dict):
        return {k: (v if k in _LINEAGE_KEYS else example(v, withhold))
                for k, v in value.items() if k not in vs.PRIVATE_COLUMNS}
    if not withhold or value is None or isinstance(value, numbers.Real):  # numpy too
        return value
    return WITHHELD


def without_literals(text: str) -> str:
    """An error message without its quoted values (DuckDB and GX quote the values they could
    not read: "Could not convert string 'Иван' to INT64")."""
    return _LITERAL.sub("'…'", text)

