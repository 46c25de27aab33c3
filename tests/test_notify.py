"""Alerts delivered to a chat webhook (govpulse/run/notify.py) over real HTTP on 127.0.0.1: what the
pipeline records in ops is also POSTed once, and a webhook that fails never stops a run nor
shows its secret URL."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from govpulse.run import deadlines, notify, pipeline
from govpulse.run.context import RunContext
from govpulse.settings import Paths
from govpulse.warehouse.schema import connect, ensure_schema

SECRET_PATH = "/hooks/T0SECRET/B0SECRET/xoxo-webhook-secret"


@contextmanager
def webhook(status: int = 200) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A chat webhook on a free port: yields its URL and the JSON bodies it received."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append({"path": self.path, **json.loads(body)})
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{SECRET_PATH}", received
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_without_a_webhook_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(notify.WEBHOOK_ENV, raising=False)
    assert notify.send("deadline_missed", "late") is False


def test_a_missed_deadline_is_posted_once(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    deadline = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    with webhook() as (url, received):
        monkeypatch.setenv(notify.WEBHOOK_ENV, url)
        for _ in range(2):  # noticed twice (a retry, the Airflow callback): one alert
            deadlines.record_alert(warehouse, "weekly-run-1", "2026-11-13", deadline,
                                   "week 2026-11-13 published 3.0 h after its deadline")
    assert [(r["path"], r["kind"], r["period_start"], r["run_id"]) for r in received] == [
        (SECRET_PATH, "deadline_missed", "2026-11-13", "weekly-run-1")]
    assert received[0]["text"] == (
        "govpulse deadline_missed: week 2026-11-13 published 3.0 h after its deadline")


def test_a_failed_run_is_posted_at_its_first_failure(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    paths = Paths.resolve(tmp_path / "inbox", tmp_path / "registry",
                          tmp_path / "warehouse.duckdb", tmp_path / "publish")
    with connect(paths.warehouse) as con:
        ensure_schema(con)
        con.execute("INSERT INTO ops.runs (run_id, kind, period_start, status) "
                    "VALUES ('monthly-run-1', 'monthly', '2026-11-01', 'running')")
    run = RunContext("monthly-run-1", "monthly", date(2026, 11, 1), paths)
    with webhook() as (url, received):
        monkeypatch.setenv(notify.WEBHOOK_ENV, url)
        pipeline.fail_run(run, "dbt_transform: dbt exited with 1")
        pipeline.fail_run(run, "dbt_transform: dbt exited with 1")  # the retry failed too
    assert [(r["kind"], r["text"]) for r in received] == [
        ("run_failed", "govpulse run_failed: monthly 2026-11-01: dbt_transform: dbt exited "
                       "with 1")]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("broken", ["refused", "http_500"])
def test_a_failing_webhook_is_logged_without_its_url(
    broken: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with webhook(status=500) as (url, received), caplog.at_level("WARNING"):
        if broken == "refused":
            url = f"http://127.0.0.1:{_closed_port()}{SECRET_PATH}"
        monkeypatch.setenv(notify.WEBHOOK_ENV, url)
        assert notify.send("publish_incomplete", "published, but Parquet not written") is False
    assert notify.WEBHOOK_ENV in caplog.text and "kept in ops" in caplog.text
    assert "SECRET" not in caplog.text
    assert ("HTTP 500" in caplog.text) == (broken == "http_500")
    assert len(received) == (broken == "http_500")
