"""Run the GX suites on the jobs' frames and turn GX's results into `ExpectationResult`s.

Great Expectations (GX Core 1.24) has no DuckDB datasource: it validates the small pandas
frames of the jobs, in an ephemeral context, each frame with the expectations of its suite
that name that frame (`meta.frame`). GX is imported lazily: it is heavy.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import warnings
from datetime import date
from typing import Any

from govpulse.quality import messages
from govpulse.quality import suites as vs
from govpulse.quality.jobs import INDEX_COLUMNS, Job
from govpulse.quality.privacy import example, is_private_suite, without_literals
from govpulse.quality.report import ExpectationResult, ValidationReport, clip

PARTIAL_UNEXPECTED = 10  # unexpected values GX keeps per expectation (result_format SUMMARY)


@functools.cache
def _gx() -> tuple[Any, Any]:
    """(gx module, whole-dataframe batch definition of an ephemeral context), imported lazily."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("govpulse_frames").add_dataframe_asset("frame")
    return gx, asset.add_batch_definition_whole_dataframe("whole_frame")


def run_jobs(stage: str, run_id: str, period_start: date, jobs: list[Job]) -> ValidationReport:
    """The stage's report: the jobs' own results, then GX's on their frames, job by job."""
    results: list[ExpectationResult] = []
    gx_results: list[Any] = []
    for job in jobs:
        results += job.results
        if job.frames:
            results += _run_suite(job, gx_results)
    return ValidationReport(
        success=all(r.success for r in results),
        results=results,
        stage=stage,
        run_id=run_id,
        period_start=period_start,
        gx_results=gx_results,
    )


@functools.cache
def _suite_expectations(suite: str) -> tuple[dict, ...]:
    """The suite's expectation configurations (JSON), in suite order."""
    expectations = vs.SUITES[suite]().to_json_dict()["expectations"]
    assert isinstance(expectations, list)
    return tuple(e for e in expectations if isinstance(e, dict))


def _run_suite(job: Job, gx_results: list[Any]) -> list[ExpectationResult]:
    """Validate the job's frames; append GX's result of each frame to `gx_results`."""
    gx, batch_definition = _gx()
    out: list[ExpectationResult] = []
    for frame_name, frame in job.frames.items():
        # a sub-suite per frame; `position` restores suite order (GX reorders results)
        expectations = [
            {
                **{k: v for k, v in e.items() if k != "id"},
                "meta": {**e["meta"], "position": i},
            }
            for i, e in enumerate(_suite_expectations(job.suite))
            if e["meta"].get("frame") == frame_name
        ]
        if not expectations:
            continue
        result_format: dict[str, Any] = {
            "result_format": "SUMMARY",
            "partial_unexpected_count": PARTIAL_UNEXPECTED,
        }
        columns = job.index.get(frame_name, INDEX_COLUMNS.get(frame_name, ()))
        index = [c for c in columns if c in frame.df.columns]
        if index:
            result_format["unexpected_index_column_names"] = index
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame.df})
            validation = batch.validate(
                gx.ExpectationSuite(name=f"{job.suite}.{frame_name}", expectations=expectations),
                result_format=result_format,
                expectation_parameters=job.parameters,
            )
        gx_results.append(validation)
        info = {"frame": frame_name, "frame_rows": len(frame.df), **frame.info}
        for r in sorted(validation.results, key=lambda r: r.expectation_config.meta["position"]):
            out.append(_result(job.suite, r, info))
    return out


def _result(suite: str, r: Any, info: dict[str, Any]) -> ExpectationResult:
    config = r.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    column = kwargs.get("column")
    if column is None and kwargs.get("column_list"):
        column = ",".join(kwargs["column_list"])
    columns = {kwargs.get("column"), *(kwargs.get("column_list") or [])}
    success = bool(r.success)
    return ExpectationResult(
        suite=suite,
        expectation=config.type,
        column=column,
        success=success,
        observed_value=_observed(r, is_private_suite(suite), bool(columns & vs.PRIVATE_COLUMNS)),
        details=_json({**info, "kwargs": kwargs}),
        explanation=None if success else messages.explain(
            suite, getattr(config, "description", None), r.result or {},
            (r.result or {}).get("unexpected_index_column_names"), config.type, kwargs),
    )


def _observed(r: Any, raw: bool = False, private_column: bool = False) -> str:
    """What GX observed, for ops.validations (published): counts and, as examples, the values
    of up to 5 offending rows. Raw suites and private columns (see `example`) keep the
    counts and where the rows are (`_file`, `_line`), not their text."""
    errors = [
        e.get("exception_message")
        for e in _exception_infos(r.exception_info)
        if e.get("raised_exception")
    ]
    if errors:
        text = "error: " + "; ".join(dict.fromkeys(str(e) for e in errors))
        return clip(without_literals(text) if raw or private_column else text)
    result = r.result or {}
    if "unexpected_count" in result:
        text = f"{result['unexpected_count']} of {result.get('element_count')} unexpected"
        if result.get("unexpected_index_column_names"):
            examples = result.get("partial_unexpected_index_list")
        else:
            examples = result.get("partial_unexpected_list")
        if result["unexpected_count"] and examples:
            shown = [example(e, raw or private_column) for e in examples[:5]]
            text += ": " + _json(shown)
        return clip(text)
    if "observed_value" in result:
        mismatched = (result.get("details") or {}).get("mismatched")
        return clip(_json(mismatched) if mismatched else _json(result["observed_value"]))
    return clip(_json(result)) if result else ""


def _exception_infos(info: Any) -> list[dict]:
    if not isinstance(info, dict):
        return []
    if "raised_exception" in info:
        return [info]
    return [v for v in info.values() if isinstance(v, dict)]


def _json(value: Any) -> str:
    def default(o: Any) -> Any:
        if hasattr(o, "item"):  # numpy / pandas scalars
            return o.item()
        if hasattr(o, "isoformat"):
            return o.isoformat()
        return str(o)

    return json.dumps(value, default=default, ensure_ascii=False)
