"""The benchmark peers (govpulse/bench) against the real weekly DAG on one generated week.

The floor (one DuckDB statement) and the pandas script re-implement «Что говорит народ» from
METHODOLOGY.md independently of the dbt models: on the same raw files they must publish the
same rating as the DAG. The dlt peer must load every row of every file of the week.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from devtools.bench.floor import COLUMNS, floor_rating
from devtools.bench.pandas_peer import pandas_rating
from devtools.bench.peers import WEEK_DATASETS, week_files
from devtools.generate import generate
from govpulse.orchestration.runner import run_dag
from govpulse.settings import Paths

WEEK = date(2026, 11, 13)


@pytest.fixture(scope="module")
def week(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One generated week (with its bad rows and duplicates), rated once by the weekly DAG."""
    root = tmp_path_factory.mktemp("bench")
    summary = generate(root, weeks=1, scale=0.001, seed=5, first_period_start=WEEK)
    paths = Paths.resolve(inbox=root / "inbox", registry=root / "registry",
                          warehouse=root / "private" / "warehouse.duckdb",
                          publish_dir=root / "publish")
    outcome = run_dag("weekly", paths, WEEK, docs=False)
    assert outcome.ok, outcome.reason
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        cursor = con.execute(
            f"SELECT {', '.join(COLUMNS)} FROM marts.rating_people_weekly_current "
            "WHERE period_start = ? ORDER BY final_place, unit_id", [WEEK])
        published = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    return {"root": root, "paths": paths, "summary": summary, "published": published,
            "mentions": week_files(paths.inbox, WEEK, "mentions", (".csv",))}


def _by_unit(rows: list[dict]) -> dict[str, dict]:
    return {row["unit_id"]: row for row in rows}


def test_the_week_has_what_the_peers_must_handle(week: dict) -> None:
    # a late export with rows the contract quarantines, next to the main export
    assert [p.name for p in week["mentions"]] == [
        "2026-11-13_mentions.csv", "2026-11-13_mentions_late_export.csv"]
    assert len(week["published"]) >= 20


@pytest.mark.parametrize("rating", [floor_rating, pandas_rating], ids=["floor", "pandas"])
def test_peer_rating_equals_the_published_rating(week: dict, rating) -> None:
    got = rating(week["mentions"], week["paths"].registry, WEEK)
    published = _by_unit(week["published"])
    assert set(_by_unit(got)) == set(published)
    for unit, row in _by_unit(got).items():
        # same counts, the same rounded doubles, places and penalty points: exact equality
        assert row == published[unit], unit
    assert got == week["published"]  # and in the same order (final place, unit)


def _csv_records(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.DictReader(f))


def _records(path: Path) -> int:
    if path.suffix == ".csv":
        return _csv_records(path)
    if path.suffix == ".json":
        return len(json.loads(path.read_text(encoding="utf-8")))
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def _peer(week: dict, peer: str, tmp_path: Path) -> dict:
    out = tmp_path / f"{peer}.json"
    subprocess.run(
        [sys.executable, "-m", "devtools.bench.peers", peer,
         "--inbox", str(week["paths"].inbox), "--registry", str(week["paths"].registry),
         "--period-start", WEEK.isoformat(), "--work", str(tmp_path / "work"),
         "--out", str(out)],
        check=True, cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(out.read_text(encoding="utf-8"))


def test_dlt_peer_loads_every_row_of_every_file(week: dict, tmp_path: Path) -> None:
    report = _peer(week, "dlt", tmp_path)
    expected = {d: sum(_records(p) for p in week_files(week["paths"].inbox, WEEK, d))
                for d in WEEK_DATASETS}
    assert report["result"] == expected
    # the generator's own count of what it wrote agrees
    assert expected == {d: week["summary"]["datasets"][d]["rows"] for d in WEEK_DATASETS}
    assert {Path(f).name for f in report["files"]} == {
        Path(f).name for d in WEEK_DATASETS for f in week["summary"]["datasets"][d]["files"]}
    # nothing of dlt's state outside the work folder
    assert (tmp_path / "work" / "pipelines").is_dir()
    assert (tmp_path / "work" / "dlt.duckdb").is_file()


def test_peer_entry_point_writes_its_report(week: dict, tmp_path: Path) -> None:
    report = _peer(week, "floor", tmp_path)
    assert report["peer"] == "floor"
    assert report["rows"] == json.loads(json.dumps(week["published"]))
    assert [Path(f).name for f in report["files"]] == [p.name for p in week["mentions"]]
    assert report["wall_s"] > 0 and report["cpu_s"] > 0
    assert report["peak_rss_bytes"] > 1 << 20  # a Python process with DuckDB: over a MiB
