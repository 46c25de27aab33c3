"""Wall time, CPU time and peak memory of a process tree, over the whole run and per time window.

A thread samples the process and all its descendants (dbt runs in a subprocess) every
`interval` seconds: resident memory summed over the tree and CPU time (user + system of the live
processes plus what finished children left in the parent's counters). A phase's usage is read
off the samples between its start and end, so phases are measured without touching the code
that runs them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import asdict, dataclass

import psutil


@dataclass(frozen=True)
class Usage:
    wall_s: float
    cpu_s: float
    peak_rss_bytes: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class Sample:
    at: float  # time.time(), comparable with Airflow's task start and end dates
    cpu_s: float
    rss_bytes: int


def tree_sample(process: psutil.Process) -> Sample:
    """CPU seconds and resident bytes of a process and its live descendants, now."""
    cpu, rss = 0.0, 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            with proc.oneshot():
                times = proc.cpu_times()
                rss += proc.memory_info().rss
        except psutil.NoSuchProcess:  # ended between listing and reading
            continue
        # children_* count the descendants this process has already waited for
        cpu += times.user + times.system + times.children_user + times.children_system
    return Sample(time.time(), cpu, rss)


class Meter:
    """Samples a process tree in a background thread; use as a context manager."""

    def __init__(self, pid: int | None = None, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-meter", daemon=True)

    def __enter__(self) -> Meter:
        self.samples.append(tree_sample(self.process))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        # a metered child has ended by now: its last sample stands
        with contextlib.suppress(psutil.NoSuchProcess):
            self.samples.append(tree_sample(self.process))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.samples.append(tree_sample(self.process))
            except psutil.NoSuchProcess:
                return

    def total(self) -> Usage:
        first, last = self.samples[0], self.samples[-1]
        return Usage(last.at - first.at, last.cpu_s - first.cpu_s,
                     max(s.rss_bytes for s in self.samples))

    def window(self, start: float, end: float) -> Usage:
        """Usage between two instants (time.time()): CPU from the samples nearest the ends."""
        inside = [s for s in self.samples if start <= s.at <= end]
        before = max((s for s in self.samples if s.at <= start), key=lambda s: s.at,
                     default=self.samples[0])
        after = min((s for s in self.samples if s.at >= end), key=lambda s: s.at,
                    default=self.samples[-1])
        peak = max((s.rss_bytes for s in [*inside, before, after]), default=0)
        return Usage(end - start, max(0.0, after.cpu_s - before.cpu_s), peak)
