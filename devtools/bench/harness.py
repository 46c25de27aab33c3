"""The benchmark: a generated week through the real weekly DAG, beside the floor and the peers.

For each scale: generate the week (or reuse it), run `weekly_ratings` through Airflow on a fresh
warehouse in its own process (metered per phase, devtools/bench/measured_run.py), then each
peer in its own process on the same raw files (devtools/bench/peers.py). Every process is
measured from outside the same way (wall, CPU, peak resident memory of its whole tree), so the
numbers compare. Results go to `<work>/scale-<x>/publish/bench.json` (next to that run's
published files) and all scales to `<work>/bench.json`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import psutil

from devtools.bench.measured_run import PHASES
from devtools.bench.meter import Meter, Usage
from devtools.bench.report import DLT_FACTOR
from devtools.generate import SUMMARY_FILE

PEERS = ("floor", "pandas", "dlt")
SEED = 42
# A peer is stopped once it cannot change a verdict (dlt past the landing target, pandas past the
# whole govpulse run) or would take the machine's memory (the kernel's OOM killer picks its own
# victim); budgets never go below MIN_BUDGET_S, so small scales always run to the end.
MIN_BUDGET_S = 300.0
MEMORY_SHARE = 0.85
GENERATOR = Path(__file__).resolve().parents[1] / "generate.py"


@dataclass
class ScaleResult:
    scale: float
    mentions: int = 0
    generated: Usage | None = None  # None when the data of an earlier run was reused
    run: Usage | None = None  # the whole govpulse process, start-up included
    phases: dict[str, Usage] = field(default_factory=dict)
    outcome: dict[str, Any] = field(default_factory=dict)
    peers: dict[str, Usage] = field(default_factory=dict)
    peer_results: dict[str, Any] = field(default_factory=dict)
    stopped: dict[str, Stop] = field(default_factory=dict)  # peer -> why it was stopped
    failures: list[str] = field(default_factory=list)

    @property
    def phases_total(self) -> Usage | None:
        if not self.phases:
            return None
        parts = list(self.phases.values())
        return Usage(sum(p.wall_s for p in parts), sum(p.cpu_s for p in parts),
                     max(p.peak_rss_bytes for p in parts))

    def as_dict(self) -> dict[str, Any]:
        def usage(u: Usage | None) -> dict | None:
            return u.as_dict() if u else None

        total = self.phases_total
        return {
            "scale": self.scale,
            "mentions": self.mentions,
            "generate": usage(self.generated),
            "govpulse": {
                "whole_run": usage(self.run),
                "phases": {k: v.as_dict() for k, v in self.phases.items()},
                "phases_total": usage(total),
                "startup_and_orchestration_s": (self.run.wall_s - total.wall_s
                                                if self.run and total else None),
                "outcome": self.outcome,
            },
            "peers": {k: v.as_dict() for k, v in self.peers.items()},
            "peer_results": self.peer_results,
            "stopped": {peer: asdict(stop) for peer, stop in self.stopped.items()},
            "ratios": ratios(self),
            "failures": self.failures,
        }


def ratios(result: ScaleResult) -> dict[str, float]:
    """govpulse ÷ floor per phase and in total, govpulse ÷ peers."""
    out: dict[str, float] = {}
    floor = result.peers.get("floor")
    total = result.phases_total
    if floor and floor.wall_s > 0:
        for name, usage in result.phases.items():
            out[f"{name} / floor"] = usage.wall_s / floor.wall_s
        if total:
            out["phases total / floor"] = total.wall_s / floor.wall_s
        if result.run:
            out["whole run / floor"] = result.run.wall_s / floor.wall_s
    pandas = result.peers.get("pandas")
    if pandas and result.phases:
        out["slowest phase / pandas"] = (max(p.wall_s for p in result.phases.values())
                                         / pandas.wall_s)
        if result.run:
            out["whole run / pandas"] = result.run.wall_s / pandas.wall_s
    dlt = result.peers.get("dlt")
    landing = result.phases.get("landing")
    if dlt and landing and landing.wall_s > 0:
        out["dlt / landing"] = dlt.wall_s / landing.wall_s
    return out


@dataclass(frozen=True)
class Stop:
    """Why a measured process was stopped: which limit (time or memory), in words."""

    limit: str
    message: str


@dataclass(frozen=True)
class Budget:
    """Limits past which a measured process is stopped (None: no limit)."""

    wall_s: float | None = None
    rss_bytes: int | None = None

    def exceeded(self, wall_s: float, rss_bytes: int) -> Stop | None:
        if self.wall_s is not None and wall_s > self.wall_s:
            return Stop("time", f"stopped after {wall_s:,.0f} s "
                                f"(its budget: {self.wall_s:,.0f} s)")
        if self.rss_bytes is not None and rss_bytes > self.rss_bytes:
            return Stop("memory", f"stopped at {rss_bytes / 2**30:.1f} GiB of memory after "
                                  f"{wall_s:,.0f} s (its budget: {self.rss_bytes / 2**30:.1f} GiB)")
        return None


def run_measured(cmd: list[str], env: dict[str, str], log: Path,
                 budget: Budget | None = None) -> tuple[int | None, Usage, Stop | None]:
    """Run a command, metering its process tree from outside; its output goes to `log`.

    Returns its exit code (None when it was stopped), its usage and why it was stopped.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    code: int | None = None
    stopped: Stop | None = None
    with log.open("w") as out:
        child = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            with Meter(child.pid) as meter:
                while code is None and stopped is None:
                    try:
                        code = child.wait(timeout=0.5)
                    except subprocess.TimeoutExpired:
                        if budget:
                            stopped = budget.exceeded(time.time() - started,
                                                      meter.samples[-1].rss_bytes)
                if stopped:
                    _kill_tree(child)
            peak = max(s.rss_bytes for s in meter.samples)
        except psutil.NoSuchProcess:  # ended before the first sample
            code, peak = child.wait(), 0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return code, Usage(time.time() - started, cpu, peak), stopped


def _kill_tree(child: subprocess.Popen) -> None:
    procs = [*psutil.Process(child.pid).children(recursive=True), psutil.Process(child.pid)]
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    child.wait()
    psutil.wait_procs(procs, timeout=5)  # grandchildren are reaped by their new parent


def peer_budget(peer: str, result: ScaleResult) -> Budget:
    """How long and how much memory a peer gets, from govpulse's numbers at this scale."""
    memory = int(psutil.virtual_memory().total * MEMORY_SHARE)
    landing = result.phases.get("landing")
    if peer == "dlt" and landing:
        return Budget(max(MIN_BUDGET_S, DLT_FACTOR * landing.wall_s * 1.02), memory)
    if peer == "pandas" and result.run:
        return Budget(max(MIN_BUDGET_S, result.run.wall_s * 1.02), memory)
    return Budget(None, memory)


def _generator_key(scale: float, seed: int) -> str:
    return hashlib.sha256(GENERATOR.read_bytes() + f"|{scale}|{seed}".encode()).hexdigest()


def _child_env(folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GOVPULSE_INBOX": str(folder / "data" / "inbox"),
        "GOVPULSE_REGISTRY": str(folder / "data" / "registry"),
        "GOVPULSE_WAREHOUSE": str(folder / "warehouse.duckdb"),
        "GOVPULSE_PUBLISH_DIR": str(folder / "publish"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL",
                                                           "ERROR"),
        "DO_NOT_TRACK": "1",
    }


def bench_scale(scale: float, work_dir: Path, peers: tuple[str, ...], say: TextIO,
                seed: int = SEED) -> ScaleResult:
    from devtools.generate import LAST_PERIOD_START

    folder = work_dir / f"scale-{scale:g}"
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = _child_env(folder)
    result = ScaleResult(scale)
    week = LAST_PERIOD_START.isoformat()

    marker = folder / "data" / "generated.key"
    summary_file = folder / "data" / SUMMARY_FILE
    key = _generator_key(scale, seed)
    if marker.exists() and marker.read_text() == key and summary_file.exists():
        say.write(f"  generate      reusing the week generated earlier in {folder / 'data'}\n")
    else:
        shutil.rmtree(folder / "data", ignore_errors=True)
        say.write(f"  generate      scale {scale:g} …\n")
        say.flush()
        code, usage, _ = run_measured(
            [sys.executable, "-m", "govpulse.cli", "generate", "--out", str(folder / "data"),
             "--weeks", "1", "--scale", str(scale), "--seed", str(seed)], env,
            logs / "generate.log")
        if code != 0:
            result.failures.append(f"generate exited {code}: see {logs / 'generate.log'}")
            return result
        result.generated = usage
        marker.write_text(key)
        say.write(f"  generate      {usage.wall_s:7.1f} s\n")
    result.mentions = json.loads(summary_file.read_text())["datasets"]["mentions"]["rows"]

    # a fresh warehouse and publish folder: the run lands and rates the whole week
    for stale in (folder / "warehouse.duckdb", folder / "warehouse.duckdb.wal"):
        stale.unlink(missing_ok=True)
    shutil.rmtree(folder / "publish", ignore_errors=True)
    shutil.rmtree(folder / "warehouse.duckdb.tmp", ignore_errors=True)
    (folder / "publish").mkdir()
    say.write(f"  govpulse      weekly_ratings through Airflow, week {week} …\n")
    say.flush()
    usage_file = folder / "govpulse_run.json"
    code, usage, _ = run_measured(
        [sys.executable, "-m", "devtools.bench.measured_run", "--period-start", week,
         "--out", str(usage_file)], env, logs / "govpulse_run.log")
    result.run = usage
    if usage_file.exists():
        inner = json.loads(usage_file.read_text())
        result.phases = {k: Usage(**v) for k, v in inner["phases"].items()}
        result.outcome = {k: inner.get(k) for k in ("ok", "reason", "revision", "rows_loaded",
                                                    "rows_quarantined", "published_file")}
    if code != 0:
        result.failures.append(f"the weekly run failed: see {logs / 'govpulse_run.log'}")
    say.write(f"  govpulse      {usage.wall_s:7.1f} s\n")

    for peer in peers:
        say.write(f"  {peer:<13} …\n")
        say.flush()
        out = folder / "peers" / f"{peer}.json"
        out.parent.mkdir(exist_ok=True)
        out.unlink(missing_ok=True)
        code, usage, stopped = run_measured(
            [sys.executable, "-m", "devtools.bench.peers", peer,
             "--inbox", env["GOVPULSE_INBOX"], "--registry", env["GOVPULSE_REGISTRY"],
             "--period-start", week, "--work", str(folder / "peers" / peer),
             "--out", str(out)], env, logs / f"{peer}.log", peer_budget(peer, result))
        if stopped:
            # unfinished: its time and memory so far are a lower bound of what it needs
            result.peers[peer] = usage
            result.stopped[peer] = stopped
            say.write(f"  {peer:<13} {stopped.message}\n")
            continue
        if code != 0:
            result.failures.append(f"peer {peer} exited {code}: see {logs / f'{peer}.log'}")
            continue
        inner = json.loads(out.read_text())
        # the peer's own clock leaves out the interpreter's start (the floor is the statement);
        # the kernel's high-water mark it read catches a peak between our samples
        result.peers[peer] = Usage(inner.get("wall_s", usage.wall_s),
                                   inner.get("cpu_s", usage.cpu_s),
                                   max(usage.peak_rss_bytes, inner.get("peak_rss_bytes", 0)))
        result.peer_results[peer] = inner
        say.write(f"  {peer:<13} {usage.wall_s:7.1f} s\n")
    return result


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def run_bench(scales: list[float], work_dir: Path, peers: tuple[str, ...] = PEERS,
              say: TextIO = sys.stdout) -> dict[str, Any]:
    """Benchmark each scale; print the tables; write the JSON files; return the report."""
    from devtools.bench.report import format_report

    work_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for scale in scales:
        say.write(f"scale {scale:g}\n")
        result = bench_scale(scale, work_dir, peers, say)
        results.append(result)
        publish = work_dir / f"scale-{scale:g}" / "publish"
        if publish.is_dir():
            (publish / "bench.json").write_text(json.dumps(result.as_dict(), indent=2))
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "phases": {k: list(v) for k, v in PHASES.items()},
        "scales": [r.as_dict() for r in results],
    }
    (work_dir / "bench.json").write_text(json.dumps(report, indent=2))
    say.write("\n" + format_report(report) + "\n")
    say.write(f"\nJSON: {work_dir / 'bench.json'} (and scale-<x>/publish/bench.json)\n")
    return report
