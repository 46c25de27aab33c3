"""Great Expectations Data Docs of a run, published next to the data.

`govpulse.quality.validation` validates small pandas frames with an ephemeral GX context. After each
validation stage, `store_results` keeps GX's result of every (suite, frame) in a private,
file-based GX validation-results store next to the private warehouse:

    <warehouse dir>/gx/validations/<suite>/<run_id>/<validated_at>/<frame>.json

(suite = the govpulse suite, e.g. `raw_mentions`; run name = our run id; run time = the report's
`validated_at`; batch identifier = the frame). `build_data_docs` renders the results of one run
(for each stage, its latest attempt: a retried task validates again) and the suites they ran as
GX Data Docs (static HTML: index, one page per result, one per suite) into the publish
directory, replacing the previous site in one step.

Privacy: the Data Docs are public, the frames of raw suites are samples of raw rows. Their
frames never carry author / user / follower ids, texts or usernames (the sample keeps only
lineage, enum and numeric columns), but an unexpected value of an enum column is whatever the
row held. So results of raw-dataset suites keep their counts and the `_file` / `_line` of
offending rows and lose every value list (`partial_unexpected_list`, `..._counts`, the values in
`partial_unexpected_index_list`); values of the private columns are dropped from any result.
`ops.validations` withholds them the same way (govpulse/quality/privacy.py). Results are
cleaned when stored and again when rendered. Candidate suites (ratings, published anyway)
keep their values.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govpulse.publish.folders import replace_folder
from govpulse.quality import suites as vs

if TYPE_CHECKING:  # pragma: no cover
    from govpulse.quality.validation import ValidationReport

GX_DIR = "gx"  # next to the private warehouse
SITE_NAME = "govpulse"
PRIVATE_COLUMNS = vs.PRIVATE_COLUMNS
INDEX_COLUMNS = ("_file", "_line")  # what identifies an offending raw row in the docs
VALUE_LISTS = ("partial_unexpected_list", "partial_unexpected_counts", "unexpected_list",
               "unexpected_index_query")
INDEX_LISTS = ("partial_unexpected_index_list", "unexpected_index_list")
WITHHELD = "(value withheld: raw data)"
STAGE_META = "govpulse"  # result meta: {"stage", "frame"}

log = logging.getLogger(__name__)


def results_dir(warehouse: Path) -> Path:
    """The private validation-results store of a warehouse."""
    return Path(warehouse).resolve().parent / GX_DIR / "validations"


def store_results(warehouse: Path, report: ValidationReport) -> int:
    """Keep the GX results of a validation report (one per suite × frame) in the private
    store, keyed by suite, run (run_id, validated_at) and frame. Returns how many were
    stored."""
    _quiet()
    from great_expectations.core.run_identifier import RunIdentifier

    store = _store(warehouse)
    run = RunIdentifier(run_name=report.run_id, run_time=report.validated_at)
    for result in report.gx_results:
        suite, frame = _suite_and_frame(result.suite_name)
        store.set(_key(suite, run, frame), _public(result, suite, frame, run, report.stage))
    return len(report.gx_results)


def build_data_docs(warehouse: Path, run_id: str, out_dir: Path) -> Path:
    """Render the Data Docs of run `run_id` into `out_dir` (replaced in one step); returns
    its index.html. Raises LookupError when the run stored no result, RuntimeError when GX
    could not render a page."""
    _quiet()
    import great_expectations as gx
    from great_expectations.render.renderer.site_builder import SiteBuilder

    source = _store(warehouse)
    keys = _latest_keys(source, run_id)
    if not keys:
        raise LookupError(f"no Great Expectations results stored for run {run_id}")

    context = gx.get_context(mode="ephemeral")
    for key in keys:
        suite = key.expectation_suite_identifier.name
        frame = key.batch_identifier
        result = source.get(key)
        context.validation_results_store.set(
            key, _public(result, suite, frame, key.run_id, _stage_of(result))
        )
    for suite in sorted({k.expectation_suite_identifier.name for k in keys}):
        if suite in vs.SUITES:
            context.suites.add(vs.SUITES[suite]())

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        site = SiteBuilder(
            data_context=context,
            store_backend={"class_name": "TupleFilesystemStoreBackend",
                           "base_directory": str(tmp)},
            site_name=SITE_NAME,
            show_how_to_buttons=False,
            site_section_builders={"profiling": "None"},
        )
        site.build()
        missing = [
            p for p in (tmp / "index.html", *(_page(tmp, k) for k in keys)) if not p.is_file()
        ]
        if missing:
            raise RuntimeError(f"Data Docs: GX did not render {', '.join(map(str, missing))}")
        tmp.chmod(0o755)  # mkdtemp creates 0700: readers of the publish dir must list it
        replace_folder(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir / "index.html"


# --------------------------------------------------------------------------------------------
def _quiet() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def _store(warehouse: Path) -> Any:
    from great_expectations.data_context.store import ValidationResultsStore

    return ValidationResultsStore(
        store_backend={
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(results_dir(warehouse)),
            "suppress_store_backend_id": True,
        }
    )


def _key(suite: str, run: Any, frame: str) -> Any:
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    return ValidationResultIdentifier(ExpectationSuiteIdentifier(suite), run, frame)


def _suite_and_frame(name: str) -> tuple[str, str]:
    """govpulse.quality.validation names its per-frame sub-suites `<suite>.<frame>`."""
    suite, _, frame = name.rpartition(".")
    if not suite:
        raise ValueError(f"unexpected GX suite name {name!r} (expected <suite>.<frame>)")
    return suite, frame


def _latest_keys(store: Any, run_id: str) -> list[Any]:
    """Keys of the run's results, for each stage only those of its latest validation."""
    by_time: dict[datetime, list[Any]] = defaultdict(list)
    for key in store.list_keys():
        if key.run_id.run_name == run_id:
            by_time[key.run_id.run_time].append(key)
    latest: dict[str, tuple[datetime, list[Any]]] = {}
    for run_time, keys in by_time.items():
        stage = _stage_of_suites({k.expectation_suite_identifier.name for k in keys})
        if stage not in latest or run_time > latest[stage][0]:
            latest[stage] = (run_time, keys)
    return sorted(
        (k for _, keys in latest.values() for k in keys),
        key=lambda k: (k.expectation_suite_identifier.name, k.batch_identifier),
    )


def _stage_of_suites(suites: set[str]) -> str:
    if suites & vs.RATINGS.keys():
        return "candidates"
    return "raw"


def _stage_of(result: Any) -> str:
    return (result.meta.get(STAGE_META) or {}).get("stage", "")


def _public(result: Any, suite: str, frame: str, run: Any, stage: str) -> Any:
    """A copy of a GX result fit for the public Data Docs, named after its suite and run."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )

    data = result.to_json_dict()
    data["suite_name"] = suite  # the page links to the suite's page by this name
    meta = data.get("meta") or {}
    data["meta"] = {
        "great_expectations_version": meta.get("great_expectations_version"),
        "run_id": {"run_name": run.run_name, "run_time": run.run_time.isoformat()},
        "batch_spec": {"frame": frame, "batch_data": "PandasDataFrame"},
        STAGE_META: {"stage": stage, "frame": frame},
    }
    raw = suite in vs.RAW_DATASETS
    for r in data.get("results") or []:
        _scrub(r, raw)
    return ExpectationSuiteValidationResultSchema().load(data)


def _scrub(r: dict[str, Any], raw: bool) -> None:
    """Drop raw values from one expectation result (in place), see the module docstring."""
    result = r.get("result")
    if not isinstance(result, dict):
        return
    kwargs = (r.get("expectation_config") or {}).get("kwargs") or {}
    columns = {kwargs.get("column"), *(kwargs.get("column_list") or [])}
    rows = [row for row in result.get("partial_unexpected_index_list") or []
            if isinstance(row, dict)]
    if raw or columns & PRIVATE_COLUMNS:
        for name in (*VALUE_LISTS, *INDEX_LISTS):
            result.pop(name, None)
    else:
        for name in INDEX_LISTS:
            if isinstance(result.get(name), list):
                result[name] = [
                    {k: v for k, v in row.items() if k not in PRIVATE_COLUMNS}
                    if isinstance(row, dict) else row
                    for row in result[name]
                ]
        return
    # where the offending rows are (file, line), under one placeholder value: GX renders the
    # index table from partial_unexpected_counts + unexpected_index_list
    where = [{k: row[k] for k in INDEX_COLUMNS if k in row} for row in rows]
    where = [w for w in where if w]
    column = kwargs.get("column")
    if where and result.get("unexpected_count") and isinstance(column, str):
        index_columns = [c for c in INDEX_COLUMNS if c in where[0]]
        where = [{column: WITHHELD, **w} for w in where]
        result["partial_unexpected_counts"] = [{"value": WITHHELD, "count": len(where)}]
        result["partial_unexpected_index_list"] = result["unexpected_index_list"] = where
        result["unexpected_index_column_names"] = index_columns


def _page(site: Path, key: Any) -> Path:
    return site.joinpath(
        "validations", *key.expectation_suite_identifier.to_tuple(), *key.run_id.to_tuple(),
        f"{key.batch_identifier}.html",
    )


