"""Great Expectations Data Docs of a run (govpulse.publish.data_docs), without Airflow: real GX,
a real DuckDB warehouse (the tables of tests/test_validation.py)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from govpulse.publish import data_docs
from govpulse.quality import suites as vs
from govpulse.quality import validation
from govpulse.run import pipeline
from govpulse.run.context import RunContext
from govpulse.settings import Paths
from tests.test_validation import DATA, DDL, PERIOD, RUN

SECRET = "author-SECRET-7731"  # planted in raw.mentions: must never reach the docs
WEEKLY = [r.suite for r in vs.ratings_of("weekly")]
RAW = ["raw_mentions", "raw_page_posts", "raw_page_snapshots", "raw_post_interactions",
       "raw_incidents"]  # with rows in the run (follower audits, fetch completeness: skipped)


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """A warehouse whose raw mentions carry a planted author id (as author id, as text and as
    an unknown author type) and whose people rating has a wrong penalty; both stages validated
    and stored."""
    warehouse = tmp_path_factory.mktemp("docs") / "private" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as con:
        con.execute(DDL)
        con.execute(DATA)
        con.execute(
            "UPDATE raw.mentions SET author_id = ?, text = 'by ' || ?, author_type = ? "
            "WHERE _run_id = 'run-2' AND _line = 7",
            [SECRET, SECRET, SECRET],
        )
        con.execute(
            "UPDATE intermediate.int_people_ranked SET penalty_points = 99 "
            "WHERE unit_id = 'r-ala'"
        )
    reports = [validation.validate_raw(warehouse, RUN, PERIOD),
               validation.validate_candidates(warehouse, RUN, PERIOD)]
    for report in reports:
        assert not report.success
        assert data_docs.store_results(warehouse, report) == len(report.gx_results) > 0
    return warehouse, reports


@pytest.fixture(scope="module")
def site(validated: tuple[Path, list], tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse, _ = validated
    out = tmp_path_factory.mktemp("publish") / "docs" / "gx"
    started = time.perf_counter()
    index = data_docs.build_data_docs(warehouse, RUN, out)
    print(f"build_data_docs: {time.perf_counter() - started:.2f}s")
    assert index == out / "index.html"
    return out


def pages(site: Path, suite: str) -> dict[str, Path]:
    """frame -> validation page of a suite (one run time per stage)."""
    found = list((site / "validations" / suite / RUN).glob("*/*.html"))
    assert len({p.parent for p in found}) == 1, found
    return {p.stem: p for p in found}


def test_results_are_stored_privately_next_to_the_warehouse(
    validated: tuple[Path, list],
) -> None:
    warehouse, reports = validated
    store = warehouse.parent / "gx" / "validations"
    stored = list(store.glob(f"*/{RUN}/*/*.json"))
    assert len(stored) == sum(len(r.gx_results) for r in reports)
    # one result per suite × frame, keyed by suite, run (run id, validated_at) and frame
    frames = {(p.parts[-4], p.stem) for p in stored}
    assert ("raw_mentions", "sample") in frames
    assert ("people_ranked", "units") in frames
    # ops.validations is unchanged: GX results are not part of the flattened report
    assert all(isinstance(r, validation.ExpectationResult) for r in reports[0].results)


def test_index_lists_every_suite_and_page(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    for suite in RAW + WEEKLY:
        assert f"expectations/{suite}.html" in index, suite
        assert (site / "expectations" / f"{suite}.html").is_file()
        frames = vs.RAW_FRAMES if suite in RAW else vs.CANDIDATE_FRAMES
        found = pages(site, suite)
        assert set(found) == set(frames), suite
        for page in found.values():
            assert page.relative_to(site).as_posix() in index
    assert "raw_follower_audits" not in index  # skipped: no rows in the run, no GX result
    assert (site / "static").is_dir()


def test_failing_expectation_shows_as_failed(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    # people units; raw mentions sample (author type not in set) and run totals (its count)
    assert len(re.findall("ge-failed-icon", index)) == 3
    assert "Status: Failed" in text_of(pages(site, "raw_mentions")["run_totals"])
    units = text_of(pages(site, "people_ranked")["units"])
    assert "Status: Failed" in units
    assert "Unsuccessful Expectations 1" in units
    assert "Status: Succeeded" in text_of(pages(site, "region_pages_ranked")["units"])
    # a raw failure says where the rows are, not what they hold
    sample = text_of(pages(site, "raw_mentions")["sample"])
    assert "Status: Failed" in sample
    assert f"{data_docs.WITHHELD} 1 mentions/b.csv 7" in sample


def test_planted_author_id_never_reaches_the_site(
    validated: tuple[Path, list], site: Path
) -> None:
    warehouse, reports = validated
    # the validation report (ops.validations) withholds it where it failed an expectation ...
    observed = [r.observed_value or "" for r in reports[0].results]
    assert any(validation.WITHHELD in o for o in observed)
    assert not any(SECRET in o for o in observed)
    # ... and neither the stored GX results nor any file of the Data Docs hold it
    for root in (warehouse.parent / "gx", site):
        files = [p for p in root.rglob("*") if p.is_file()]
        assert files
        leaked = [p for p in files if SECRET.encode() in p.read_bytes()]
        assert not leaked, leaked


def test_latest_attempt_of_each_stage_replaces_the_site(
    validated: tuple[Path, list], tmp_path: Path
) -> None:
    warehouse, reports = validated
    out = tmp_path / "docs" / "gx"
    data_docs.build_data_docs(warehouse, RUN, out)
    stale = out / "stale.html"
    stale.write_text("old site", encoding="utf-8")
    # a retried raw validation (later validated_at) and another run
    raw = reports[0]
    retry = validation.ValidationReport(
        success=raw.success, results=raw.results, stage=raw.stage, run_id=RUN,
        validated_at=raw.validated_at + timedelta(minutes=5), gx_results=raw.gx_results,
    )
    other = validation.ValidationReport(
        success=raw.success, stage=raw.stage, run_id="run-other", gx_results=raw.gx_results,
    )
    data_docs.store_results(warehouse, retry)
    data_docs.store_results(warehouse, other)
    data_docs.build_data_docs(warehouse, RUN, out)
    assert not stale.exists()
    run_times = {p.name for p in (out / "validations" / "raw_mentions" / RUN).iterdir()}
    assert run_times == {f"{retry.validated_at:%Y%m%dT%H%M%S.%fZ}"}
    assert len({p.name for p in (out / "validations" / "people_ranked" / RUN).iterdir()}) == 1
    assert "run-other" not in (out / "index.html").read_text(encoding="utf-8")
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def test_run_without_results_raises(validated: tuple[Path, list], tmp_path: Path) -> None:
    warehouse, _ = validated
    with pytest.raises(LookupError, match="no Great Expectations results"):
        data_docs.build_data_docs(warehouse, "run-never", tmp_path / "gx")
    assert not (tmp_path / "gx").exists()


def test_pipeline_validate_stores_results_even_when_failing(
    validated: tuple[Path, list], tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(validated[0].read_bytes())
    paths = Paths(inbox=tmp_path / "inbox", registry=tmp_path / "registry",
                  warehouse=warehouse, publish_dir=tmp_path / "publish")
    run = RunContext(RUN, "weekly", PERIOD, paths)
    with pytest.raises(pipeline.ValidationFailed):
        pipeline.validate(run, "candidates")
    stored = list((tmp_path / "gx" / "validations").glob(f"*/{RUN}/*/*.json"))
    assert {p.parts[-4] for p in stored} == set(WEEKLY)


def text_of(page: Path) -> str:
    html = page.read_text(encoding="utf-8")
    html = re.sub(r"<script.*?</script>|<style.*?</style>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
