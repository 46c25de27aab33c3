"""Progress of a DAG run on the terminal: one line per task as it ends (on a terminal, also a
transient line while it runs), with its duration, state and what it returned, e.g.

    ✓ land                 3.2 s — 74,656 rows landed, 12 quarantined

It only observes: a thread polls the task instances of the DAG run in Airflow's metadata
database (and the tasks' return values in XCom) while `dag.test` runs them in the main thread,
so the DAG behaves exactly as without it.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

SYMBOLS = {"success": "✓", "failed": "✗", "up_for_retry": "↻", "skipped": "–",
           "upstream_failed": "–", "removed": "–"}
ASCII_SYMBOLS = {"success": "+", "failed": "x", "up_for_retry": "r", "skipped": "-",
                 "upstream_failed": "-", "removed": "-"}
STATE_WORDS = {"failed": "failed", "up_for_retry": "failed, will retry",
               "skipped": "skipped", "upstream_failed": "not run (an upstream task failed)",
               "removed": "removed"}
FINISHED = set(SYMBOLS)
DETAIL_WIDTH = 100


def latest_task_instances(session: Any, dag_id: str, after_id: int = 0) -> list[Any]:
    """Task instances of the DAG's latest run whose id is above `after_id` ([] if none)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import select

    run_id = session.scalar(select(DagRun.run_id)
                            .where(DagRun.dag_id == dag_id, DagRun.id > after_id)
                            .order_by(DagRun.id.desc()).limit(1))
    if run_id is None:
        return []
    return list(session.scalars(select(TaskInstance).where(
        TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)).all())


def describe(task_id: str, value: Any) -> str:
    """A short account of what a task returned (its XCom `return_value`)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        if "rows_loaded" in value:  # land
            loaded = value.get("rows_loaded") or {}
            total = sum(loaded.values()) if isinstance(loaded, dict) else loaded
            text = f"{total:,} rows landed, {value.get('rows_quarantined') or 0:,} quarantined"
            if value.get("files_skipped"):
                text += f", {value['files_skipped']} files already loaded"
            if value.get("files_deferred"):
                text += f", {value['files_deferred']} still being written (next run)"
            return text
        if "status" in value and "revision" in value:  # publish
            return (f"revision {value['revision']} published" if value.get("revision")
                    else "nothing changed, no new revision")
        if "run_id" in value:  # start
            return f"run {value['run_id']}"
        return ""
    # validation summaries: the counts and the first failure, not the list of skipped suites
    text = re.sub(r" \([^)]*\)", "", " ".join(str(value).split()))
    return text if len(text) <= DETAIL_WIDTH else text[: DETAIL_WIDTH - 1] + "…"


def _label(ti: Any) -> str:
    if ti.map_index is None or ti.map_index < 0:
        return ti.task_id
    return f"{ti.task_id}[{ti.rendered_map_index or ti.map_index}]"


def _seconds(ti: Any) -> float | None:
    if ti.duration is not None:
        return float(ti.duration)
    if ti.start_date and ti.end_date:
        return (ti.end_date - ti.start_date).total_seconds()
    return None


@dataclass
class Progress:
    """Watch the run of `dag_id` created after entering and print its tasks' progress."""

    dag_id: str
    since: datetime
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    interval: float = 0.5
    _printed: set = field(default_factory=set)
    _running: str | None = None
    _after_id: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def tty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def _symbol(self, state: str) -> str:
        encoding = getattr(self.stream, "encoding", None) or "utf-8"
        try:
            "✓✗↻–—…".encode(encoding)
        except (UnicodeEncodeError, LookupError):
            return ASCII_SYMBOLS.get(state, "?")
        return SYMBOLS.get(state, "?")

    def __enter__(self) -> Progress:
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session
        from sqlalchemy import func, select

        with create_session() as session:  # runs before ours are not watched
            self._after_id = session.scalar(
                select(func.max(DagRun.id)).where(DagRun.dag_id == self.dag_id)) or 0
        self._thread = threading.Thread(target=self._watch, name="govpulse-progress",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.poll()  # the last states, after the run has finished
        self._clear_running()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def poll(self) -> None:
        # a busy SQLite or a half-created run: next time
        with contextlib.suppress(Exception):
            self._poll()

    def _poll(self) -> None:
        from airflow.utils.session import create_session

        with create_session() as session:
            tis = sorted(latest_task_instances(session, self.dag_id, self._after_id),
                         key=lambda t: (t.end_date is None,
                                        t.end_date or t.start_date or self.since,
                                        t.map_index))
            for ti in tis:
                state = str(ti.state.value if hasattr(ti.state, "value") else ti.state or "")
                key = (ti.task_id, ti.map_index, ti.try_number, state)
                if state in FINISHED and key not in self._printed:
                    self._printed.add(key)
                    value = self._return_value(session, ti) if state == "success" else None
                    self._finished(ti, state, value)
                elif state == "running" and self.tty and self._running != _label(ti):
                    self._clear_running()
                    self._running = _label(ti)
                    self.stream.write(f"  … {self._running}")
                    self.stream.flush()

    def _return_value(self, session: Any, ti: Any) -> Any:
        from airflow.models.xcom import XComModel
        from sqlalchemy import select

        row = session.execute(select(XComModel.value).where(
            XComModel.dag_id == ti.dag_id, XComModel.run_id == ti.run_id,
            XComModel.task_id == ti.task_id, XComModel.map_index == ti.map_index,
            XComModel.key == "return_value")).first()
        return XComModel.deserialize_value(row) if row is not None else None

    def _clear_running(self) -> None:
        if self._running is not None:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._running = None

    def _finished(self, ti: Any, state: str, value: Any) -> None:
        self._clear_running()
        seconds = _seconds(ti)
        timed = seconds is not None and state != "upstream_failed"
        took = f"{seconds:6.1f} s" if timed else " " * 8
        detail = describe(ti.task_id, value) if state == "success" else STATE_WORDS[state]
        line = f"  {self._symbol(state)} {_label(ti):<22}{took}"
        if detail:
            line += f" — {detail}" if self._symbol("success") == "✓" else f" - {detail}"
        self.stream.write(line + "\n")
        self.stream.flush()
