"""Loopback HTTP servers that speak each platform's documented API format (tests only).

A platform server is a `FixtureServer` subclass whose `route(path, query)` returns
`Reply(status, body, headers)`; state (the pages it knows, scripted failures) lives on the
instance so a test can script "rate-limit the 3rd call" or "expire the token".
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0  # wait before answering (a client timeout fires first)
    close: bool = False  # drop the connection without an answer


class FixtureServer:
    """Override `route`; every request is recorded in `self.requests` (path, query, headers)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.failures: list[Reply] = []  # scripted replies served before normal routing

    def route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        raise NotImplementedError

    def handle(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        self.requests.append((path, query, headers))
        if self.failures:
            return self.failures.pop(0)
        return self.route(path, query, headers)


class BrokenServer(FixtureServer):
    """A platform that answers every request the same broken way (HTTP 500, an error body,
    a hang, a dropped connection), whatever the path."""

    def __init__(self, reply: Reply) -> None:
        super().__init__()
        self.reply = reply

    def route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        return self.reply


@contextmanager
def serve(server: FixtureServer) -> Iterator[str]:
    """Run the server on 127.0.0.1 (a free port) in a thread; yield its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                form = self.rfile.read(length).decode()
                query.update({k: v[-1] for k, v in parse_qs(form).items()})
            reply = server.handle(parts.path, query, dict(self.headers))
            if reply.delay_seconds:
                time.sleep(reply.delay_seconds)
            if reply.close:
                self.close_connection = True  # nothing sent: the client sees a reset
                return
            payload = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
