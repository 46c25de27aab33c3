"""Validate every load before anything is published: the public entry points.

Great Expectations has no DuckDB datasource, so DuckDB computes small, bounded pandas frames
and GX validates those with the suites of `govpulse.quality.suites`. The warehouse is opened
read-only, only while the frames are computed; `record()` opens it read-write, separately, to
append the results to `ops.validations`.

The modules beside this one, each importing only those listed before it:

* `report`: `ExpectationResult`, `ValidationReport` and the pseudo-expectations (`SKIPPED`,
  `QUERY_FAILED`, ...) of results decided without GX;
* `privacy`: what of raw input and private columns `ops.validations` (published) may show;
* `jobs`: a suite's frames (`Job`, `Frame`), DuckDB errors turned into results;
* `raw_frames`, `completeness`: the frames of the raw stage (samples and run totals of the
  raw tables, the landing's conservation, the fetch's completeness);
* `expected_units`, `candidate_frames`: the frames of the candidate stage (the ratings' rows
  and their units, expected vs candidate); `fakes_frames`: the monthly fakes report's figures
  recounted from the month's fakes and lists;
* `gx_runner`: GX validates the jobs' frames into a `ValidationReport`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb

# `X as X`: re-exported, callers and tests keep importing them from here (tests patch
# `validation.methodology.parameters`).
from govpulse import methodology as methodology
from govpulse.quality import suites as vs
from govpulse.quality.candidate_frames import PENALTY_TOLERANCE as PENALTY_TOLERANCE
from govpulse.quality.candidate_frames import candidate_job
from govpulse.quality.completeness import NO_REPORT as NO_REPORT
from govpulse.quality.completeness import completeness_job
from govpulse.quality.fakes_frames import fakes_job
from govpulse.quality.gx_runner import run_jobs
from govpulse.quality.jobs import Job, guarded, limits
from govpulse.quality.privacy import WITHHELD as WITHHELD
from govpulse.quality.privacy import without_literals as without_literals
from govpulse.quality.raw_frames import CONSERVATION_SUITE as CONSERVATION_SUITE
from govpulse.quality.raw_frames import SAMPLE_ROWS as SAMPLE_ROWS
from govpulse.quality.raw_frames import conservation_job, raw_job
from govpulse.quality.report import INPUTS_PRESENT as INPUTS_PRESENT
from govpulse.quality.report import QUERY_FAILED as QUERY_FAILED
from govpulse.quality.report import RECORDS_ACCOUNTED as RECORDS_ACCOUNTED
from govpulse.quality.report import SKIPPED as SKIPPED
from govpulse.quality.report import TABLE_EXISTS as TABLE_EXISTS
from govpulse.quality.report import WEIGHTS_CONFIGURED as WEIGHTS_CONFIGURED
from govpulse.quality.report import ExpectationResult as ExpectationResult
from govpulse.quality.report import ValidationReport
from govpulse.warehouse.schema import VALIDATIONS_DDL


def validate_raw(
    warehouse: Path, run_id: str, period_start: date, *, sample_rows: int = SAMPLE_ROWS,
    rows_only: bool = False, expected_platforms: Sequence[str] = (),
) -> ValidationReport:
    """Validate the rows the run `run_id` loaded into the raw tables (and, unless `rows_only`,
    the completeness of its fetch). `expected_platforms` are those a weekly run had to fetch
    (a token is configured): one that landed no fetch report fails completeness."""
    sample_rows = int(sample_rows)
    if sample_rows < 1:
        raise ValueError("sample_rows must be positive")
    jobs: list[Job] = []
    with duckdb.connect(str(warehouse), read_only=True, config=limits()) as con:
        for dataset in vs.RAW_DATASETS.values():
            jobs.append(
                guarded(dataset.suite,
                        functools.partial(raw_job, con, dataset, run_id, sample_rows))
            )
        if not rows_only:
            jobs.append(guarded("fetch_completeness",
                                lambda: completeness_job(con, run_id, period_start,
                                                         expected_platforms)))
        jobs.append(guarded(CONSERVATION_SUITE, lambda: conservation_job(con, run_id)))
    return run_jobs("raw", run_id, period_start, jobs)


def validate_candidates(
    warehouse: Path, run_id: str, period_start: date, kind: str = "weekly",
    timezone: str | None = None,
) -> ValidationReport:
    """Validate the candidate ratings of a run of `kind` (weekly | monthly | annual, as in
    ops.runs.kind) for the period starting `period_start`, before they are appended to the
    marts. `timezone`: the territory's (default: the methodology's)."""
    ratings = vs.ratings_of(kind)  # ValueError for an unknown kind, before opening anything
    jobs: list[Job] = []
    with duckdb.connect(str(warehouse), read_only=True, config=limits()) as con:
        for rating in ratings:
            jobs.append(
                guarded(rating.suite,
                        functools.partial(candidate_job, con, rating, period_start, timezone))
            )
        if kind == "monthly":  # the fakes report (METHODOLOGY §8), empty unless the run makes it
            jobs.append(guarded(vs.FAKES_REPORT, functools.partial(fakes_job, con, period_start)))
    return run_jobs("candidates", run_id, period_start, jobs)


def record(warehouse: Path, report: ValidationReport) -> None:
    """Append the report's results to `ops.validations` (creates the table if missing)."""
    rows = [
        (
            report.run_id,
            r.suite,
            r.expectation,
            r.column,
            r.success,
            r.observed_value,
            r.details,
            report.validated_at,
        )
        for r in report.results
    ]
    with duckdb.connect(str(warehouse), config=limits()) as con:
        con.execute(VALIDATIONS_DDL)
        if not rows:
            return
        con.execute("BEGIN TRANSACTION")
        con.executemany(
            "INSERT INTO ops.validations (run_id, suite, expectation, column_name, success, "
            "observed_value, details, validated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.execute("COMMIT")
