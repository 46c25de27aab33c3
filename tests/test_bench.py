"""`govpulse bench` at a tiny scale: the real weekly DAG and the three peers in their own
processes, every phase metered, the table printed and the JSON written. No timing is asserted:
the numbers only have to exist and add up."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import duckdb
import psutil
import pytest

from devtools.bench.harness import PEERS, SEED, Budget, _generator_key, run_bench, run_measured
from devtools.bench.measured_run import PHASES
from devtools.bench.meter import Meter
from devtools.bench.report import format_scale

SCALE = 0.001


@pytest.fixture(scope="module")
def bench(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    work = tmp_path_factory.mktemp("bench")
    out = io.StringIO()
    report = run_bench([SCALE], work, PEERS, say=out)
    return report, out.getvalue(), work


def test_every_phase_and_peer_is_measured(bench: tuple[dict, str, Path]) -> None:
    report, _, _ = bench
    (scale,) = report["scales"]
    assert scale["failures"] == []
    gp = scale["govpulse"]
    assert gp["outcome"]["ok"] and gp["outcome"]["revision"] == 1
    assert set(gp["phases"]) == set(PHASES)
    for usage in [*gp["phases"].values(), gp["whole_run"], *scale["peers"].values()]:
        assert usage["wall_s"] > 0 and usage["peak_rss_bytes"] > 0
    # the phases are parts of the whole run; what is left is Airflow's own start-up and tasks
    assert gp["phases_total"]["wall_s"] < gp["whole_run"]["wall_s"]
    assert gp["startup_and_orchestration_s"] > 0
    assert set(scale["peers"]) == set(PEERS)
    assert scale["mentions"] > 0
    ratios = scale["ratios"]
    assert ratios["phases total / floor"] == pytest.approx(
        gp["phases_total"]["wall_s"] / scale["peers"]["floor"]["wall_s"])
    assert "dlt / landing" in ratios and "whole run / pandas" in ratios


def test_the_table_and_the_json_files(bench: tuple[dict, str, Path]) -> None:
    report, printed, work = bench
    for label in ("govpulse landing", "govpulse dbt build", "floor (one DuckDB statement)",
                  "pandas peer", "dlt peer", "Airflow start-up", "÷ floor"):
        assert label in printed, printed
    assert json.loads((work / "bench.json").read_text()) == report
    next_to_published = work / f"scale-{SCALE:g}" / "publish"
    assert (next_to_published / "warehouse.duckdb").exists()
    assert json.loads((next_to_published / "bench.json").read_text()) == report["scales"][0]


def test_the_floor_computes_the_published_people_rating(bench: tuple[dict, str, Path]) -> None:
    """The floor is a real computation of the same rating, not a stand-in."""
    report, _, work = bench
    floor = report["scales"][0]["peer_results"]["floor"]
    published = work / f"scale-{SCALE:g}" / "publish" / "warehouse.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        places = dict(con.execute(
            "SELECT unit_id, final_place FROM marts.rating_people_weekly_current").fetchall())
    assert places
    assert {row["unit_id"]: row["final_place"] for row in floor["rows"]} == places


def test_the_generated_week_is_marked_for_reuse(bench: tuple[dict, str, Path]) -> None:
    """A later bench of the same scale, seed and generator reuses the week (no regeneration)."""
    _, _, work = bench
    marker = work / f"scale-{SCALE:g}" / "data" / "generated.key"
    assert marker.read_text() == _generator_key(SCALE, SEED)
    assert _generator_key(SCALE * 10, SEED) != marker.read_text()
    summary = json.loads((marker.parent / "generated.json").read_text())
    assert summary["datasets"]["mentions"]["rows"] == bench[0]["scales"][0]["mentions"]


def test_a_peer_past_its_budget_is_stopped_with_its_children(tmp_path: Path) -> None:
    """A peer that would run on (or eat the machine's memory) is stopped, children included."""
    pid_file = tmp_path / "grandchild.pid"
    sleeper = ("import pathlib, subprocess, sys, time; "
               "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
               f"pathlib.Path({str(pid_file)!r}).write_text(str(p.pid)); time.sleep(600)")
    code, usage, stopped = run_measured([sys.executable, "-c", sleeper], {},
                                        tmp_path / "slow.log", Budget(wall_s=1.0))
    assert code is None and stopped and stopped.limit == "time"
    assert "its budget: 1 s" in stopped.message
    assert usage.wall_s < 60
    assert _ended(int(pid_file.read_text()))

    grower = "b = []\nwhile True: b.append(bytearray(10**7))"
    code, usage, stopped = run_measured([sys.executable, "-c", grower], {},
                                        tmp_path / "big.log", Budget(rss_bytes=300 * 2**20))
    assert code is None and stopped and stopped.limit == "memory"
    assert "of memory" in stopped.message
    assert usage.peak_rss_bytes > 300 * 2**20


def _ended(pid: int) -> bool:
    """Gone, or a zombie waiting for its new parent to reap it."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_ratios_to_a_stopped_peer_are_bounds(bench: tuple[dict, str, Path]) -> None:
    scale = json.loads(json.dumps(bench[0]["scales"][0]))
    scale["stopped"] = {"dlt": {"limit": "time", "message": "stopped after 9 s (its budget: 9 s)"}}
    table = format_scale(scale)
    assert "dlt peer (landing only) STOPPED" in table
    assert "(at least)" in table
    assert "landing at least" in table


def test_meter_windows_split_cpu_between_phases() -> None:
    with Meter(interval=0.01) as meter:
        import time

        t0 = time.time()
        while time.time() - t0 < 0.3:  # busy: CPU time accrues
            pass
        t1 = time.time()
        time.sleep(0.3)  # idle: it does not
        t2 = time.time()
    busy, idle = meter.window(t0, t1), meter.window(t1, t2)
    assert busy.cpu_s > idle.cpu_s
    assert meter.total().peak_rss_bytes >= busy.peak_rss_bytes > 0
