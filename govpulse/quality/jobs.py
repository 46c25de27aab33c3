"""A job: the frames DuckDB computed for one suite, or the results decided without GX.

The frame builders (`raw_frames`, `completeness`, `candidate_frames`) return jobs;
`gx_runner` validates their frames. A query that fails becomes a `query_failed` result
instead of an exception, so that one broken table does not hide the other suites.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from govpulse.quality import messages
from govpulse.quality import suites as vs
from govpulse.quality.privacy import is_private_suite, without_literals
from govpulse.quality.report import (
    OBSERVED_MAX_CHARS,
    QUERY_FAILED,
    SKIPPED,
    ExpectationResult,
)
from govpulse.warehouse.schema import memory_limit


def limits() -> dict[str, Any]:
    """DuckDB's buffers, as the pipeline's writers (read when a connection opens)."""
    return {"memory_limit": memory_limit()}


# rows of a frame are identified by these columns in the observed values (a job may override
# them: grouped ratings add their group column)
INDEX_COLUMNS = {
    vs.COLUMN_TYPES: ("column_name",),
    vs.SAMPLE: ("_file", "_line"),
    vs.ROWS: ("unit_id",),
    vs.UNITS: ("unit_id", "penalty_points", "expected_penalty_points"),
    vs.PLATFORMS_FRAME: ("platform", "missing_pages"),
}

log = logging.getLogger(__name__)


@dataclass
class Frame:
    """A pandas frame for GX, with what its results' `details` say about it."""

    df: Any  # pandas.DataFrame
    info: dict[str, Any] = field(default_factory=dict)  # goes into `details`


@dataclass
class Job:
    """A suite to run on its frames, or results decided without GX (skip / failure)."""

    suite: str
    frames: dict[str, Frame] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    results: list[ExpectationResult] = field(default_factory=list)
    index: dict[str, tuple[str, ...]] = field(default_factory=dict)  # frame -> index columns


def guarded(suite: str, build: Callable[[], Job]) -> Job:
    """The job `build` computes, or a `query_failed` result if DuckDB could not compute it."""
    try:
        return build()
    except duckdb.Error as e:
        message = " ".join(str(e).split())
        if is_private_suite(suite):
            message = without_literals(message)
        message = message[:OBSERVED_MAX_CHARS]
        log.warning("validation suite %s: query failed: %s", suite, message)
        return Job(suite, results=[ExpectationResult(suite, QUERY_FAILED, None, False, message)])


def table_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    """column -> DuckDB type of a table or view, None if it does not exist."""
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    return dict(rows) if rows else None


def schema_frames(types: dict[str, str], contract: tuple[vs.Col, ...]) -> dict[str, Frame]:
    """The table's columns (one row, a column per table column) and the DuckDB types of its
    contract columns (one row per column)."""
    import pandas as pd

    names = [c.name for c in contract if c.name in types]
    return {
        vs.SCHEMA: Frame(pd.DataFrame([types])),
        vs.COLUMN_TYPES: Frame(
            pd.DataFrame({"column_name": names, "data_type": [types[n] for n in names]})
        ),
    }


def failed(suite: str, expectation: str, message: str, details: dict[str, Any]) -> Job:
    """A suite that failed before GX could run (no table, no weights): its message is written
    to be read as it is, so it is the explanation too."""
    return Job(suite, results=[ExpectationResult(
        suite, expectation, None, False, message, json.dumps(details),
        explanation=f"{messages.subject(suite)}: {message}")])


def skipped(suite: str, why: str) -> ExpectationResult:
    """A suite with nothing to validate (no table, no rows in the run)."""
    return ExpectationResult(suite, SKIPPED, None, True, "0 rows", why)

