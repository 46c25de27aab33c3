"""Tokens never leave the connectors: the weekly DAG runs against loopback platform servers with
recognisable tokens (`tok-LEAKCANARY-…`) planted in Airflow connections (one in the metadata
database, encrypted as in production; one defined through `AIRFLOW_CONN_…`) and in the
environment; the servers answer normally, with errors that echo the token, HTTP 500, a hang
or a dropped connection. Then every byte the run wrote is searched for the tokens (as written,
URL-encoded, base64): the inbox (API captures, fetch reports), the warehouse, the published
file and docs, the Airflow home (SQLite metadata with XCom, task logs) and the run's output.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, quote_plus

import duckdb
import pytest

from govpulse.orchestration.runner import run_weekly
from govpulse.settings import Paths
from tests.platform_servers import BrokenServer, FixtureServer, Reply, serve
from tests.platform_servers.meta import graph_error
from tests.platform_servers.telegram import Channel, TGStatServer
from tests.platform_servers.telegram import post as tg_post
from tests.platform_servers.vk import ERROR_MESSAGES, Community, VkServer, post
from tests.support import write_files
from tests.test_fetch_to_rating import as_if_closed, current_week_start, inbox_with_a_mention

GROUP = 300000001


def canary(name: str) -> str:
    """A token that is easy to find and changes when URL-encoded (`/`, `+`, `=`)."""
    return f"tok-LEAKCANARY-{name}/{secrets.token_hex(6)}+x="


def needles(secret: str) -> dict[str, bytes]:
    """Every form in which a token could have been written."""
    raw = secret.encode()
    return {
        "as written": raw,
        "URL-encoded": quote(secret, safe="").encode(),
        "form-encoded": quote_plus(secret).encode(),
        "base64": base64.b64encode(raw).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
        "JSON-escaped": json.dumps(secret).strip('"').encode(),
    }


def contents(path: Path) -> bytes:
    """A file's bytes; for DuckDB and Parquet files also every value of every table, as text
    (both compress strings, so a token need not appear in their bytes as written)."""
    data = path.read_bytes()
    if path.suffix == ".parquet":
        with duckdb.connect() as con:
            rows = con.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        return data + repr(rows).encode()
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as con:
            tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                                 "WHERE database_name = current_database()").fetchall()
            for schema, name in tables:
                relation = con.table(f'"{schema}"."{name}"')  # names from DuckDB's catalog
                data += repr(relation.fetchall()).encode()
    return data


def leaks(tokens: dict[str, str], folders: list[Path], output: str) -> list[str]:
    """Where any token was found: '<token name> <form> in <file or output>'."""
    files = {path: contents(path) for folder in folders for path in sorted(folder.rglob("*"))
             if path.is_file()}
    found = []
    for name, token in tokens.items():
        for form, needle in needles(token).items():
            found += [f"{name} {form} in {path}" for path, data in files.items()
                      if needle in data]
            if needle in output.encode():
                found.append(f"{name} {form} in the run's output")
    return found


def registry(root: Path, platforms: dict[str, str]) -> Path:
    """One region with one official page per platform (platform -> platform_page_id)."""
    pages = "".join(f"p_{p},{p},{ref},A,official_region\n" for p, ref in platforms.items())
    return write_files(root, {
        "entities.csv": "entity_id,level,name_ru\nA,region,Акмолинская область\n",
        "populations.csv": "entity_id,population,population_date\nA,1000000,2023-01-01\n",
        "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind\n" + pages,
        "aliases.csv": "entity_id,alias\nA,Акмолинская область\n",
        "excluded_sources.csv": "platform,source_id,reason\n",
    })


@contextmanager
def metadata_connection(conn_id: str, host: str, password: str,
                        monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A connection stored in Airflow's metadata database, encrypted with a Fernet key as in
    production (an unencrypted password would sit in the SQLite file by design)."""
    from airflow.models.connection import Connection
    from airflow.models.crypto import get_fernet
    from airflow.utils.session import create_session
    from cryptography.fernet import Fernet

    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
    get_fernet.cache_clear()
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == conn_id).delete()
        connection = Connection(conn_id=conn_id, conn_type="http", host=host, password=password)
        session.add(connection)
    try:
        yield
    finally:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()
        get_fernet.cache_clear()


@contextmanager
def servers(**by_platform: FixtureServer) -> Iterator[dict[str, str]]:
    """Serve every platform server; yield platform -> base URL."""
    with serve_all(list(by_platform.items())) as urls:
        yield urls


@contextmanager
def serve_all(items: list[tuple[str, FixtureServer]]) -> Iterator[dict[str, str]]:
    if not items:
        yield {}
        return
    (platform, server), rest = items[0], items[1:]
    with serve(server) as url, serve_all(rest) as urls:
        yield {platform: url, **urls}


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def outputs(capfd: pytest.CaptureFixture[str]) -> str:
    captured = capfd.readouterr()
    return captured.out + captured.err


def task_logs_since(airflow_home: Path, since: float) -> str:
    """Text of the task log files written since `since` (where Airflow sends task logging when
    an earlier test in the same process configured it so)."""
    return "".join(p.read_text(errors="replace") for p in (airflow_home / "logs").rglob("*")
                   if p.is_file() and p.stat().st_mtime >= since)


def test_tokens_of_a_normal_run_are_written_nowhere(
    airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    """VK's token is the Airflow connection's (a different one in the environment is ignored,
    with a warning); TGStat's comes from the environment and travels in the query string."""
    tokens = {"vk": canary("vk"), "vk-env": canary("vkenv"), "telegram": canary("tg")}
    start = current_week_start()
    at = int((start + timedelta(minutes=1)).timestamp())
    vk = VkServer(tokens["vk"])
    vk.add(Community(GROUP, "akmola_akimat", members_count=5400,
                     posts=[post(-GROUP, 101, at, likes=10, comments=2, reposts=3)]))
    tgstat = TGStatServer(tokens["telegram"])
    tgstat.add(Channel(77, "akmola_tg", "Акмола", participants_count=900,
                       posts=[tg_post(77, "akmola_tg", 5, at, views=100)]))
    reg = registry(tmp_path / "registry", {"vk": str(GROUP), "telegram": "akmola_tg"})
    inbox_with_a_mention(tmp_path / "inbox", start)
    paths = Paths.resolve(inbox=tmp_path / "inbox", registry=reg,
                          warehouse=tmp_path / "w.duckdb", publish_dir=tmp_path / "publish")
    with servers(vk=vk, telegram=tgstat) as urls, \
            metadata_connection("govpulse_vk", urls["vk"] + "/method", tokens["vk"],
                                monkeypatch):
        monkeypatch.setenv("GOVPULSE_VK_TOKEN", tokens["vk-env"])  # loses to the connection
        monkeypatch.setenv("GOVPULSE_TELEGRAM_API_URL", urls["telegram"])
        monkeypatch.setenv("GOVPULSE_TELEGRAM_TOKEN", tokens["telegram"])
        monkeypatch.setenv("GOVPULSE_HTTP_BACKOFF_SECONDS", "0.01")
        began = time.time()
        with caplog.at_level("WARNING", logger="govpulse.orchestration.credentials"):
            as_if_closed(monkeypatch, start)
            outcome = run_weekly(paths, start.date())
    output = outputs(capfd)
    logged = output + caplog.text + task_logs_since(airflow_db, began)
    assert outcome.ok, outcome.reason
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        fetched = con.execute("SELECT platform, status FROM ops.fetch_pages "
                              "ORDER BY platform").fetchall()
    assert fetched == [("telegram", "fetched"), ("vk", "fetched")]
    # the connection won: the server only knows its token
    assert {h.get("Authorization") for _, _, h in vk.requests} == {f"Bearer {tokens['vk']}"}
    assert "vk: GOVPULSE_VK_TOKEN differs from the Airflow connection govpulse_vk" in logged
    assert any("token" in q for _, q, _ in tgstat.requests)  # the query-string case ran
    assert leaks(tokens, [tmp_path, airflow_db], output) == []


def test_tokens_in_failing_fetches_are_written_nowhere(
    airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Every platform fails its own way; with the completeness threshold at 0 the week is still
    published, so the failure reasons reach the published ops tables."""
    tokens = {p: canary(p) for p in ("vk", "facebook", "instagram", "youtube", "telegram")}
    tokens["ok"] = f"CBAPPKEY:{canary('ok-secret')}:{canary('ok-access')}"
    tokens["ok-secret"], tokens["ok-access"] = tokens["ok"].split(":")[1:]
    # real VK echoes the request's parameters in `request_params`
    vk_error = {"error": {"error_code": 5, "error_msg": ERROR_MESSAGES[5], "request_params": [
        {"key": "method", "value": "groups.getById"}, {"key": "v", "value": "5.199"},
        {"key": "access_token", "value": tokens["vk"]}]}}
    broken = {
        "vk": BrokenServer(Reply(200, vk_error)),
        # Meta names a malformed token in its message
        "facebook": BrokenServer(graph_error(190, f"Malformed access token {tokens['facebook']}")),
        "instagram": BrokenServer(Reply(close=True)),  # the connection dropped
        "telegram": BrokenServer(Reply(200, {"status": "ok"}, delay_seconds=1.0)),  # a hang
        "ok": BrokenServer(Reply(500, {"error": "Internal Server Error"})),
    }
    reg = registry(tmp_path / "registry", {
        "vk": str(GROUP), "facebook": "100200300", "instagram": "17841400000000001",
        "youtube": "UCakmolaAkimat0000000001", "telegram": "akmola_tg", "ok": "54000000000001"})
    start = current_week_start()
    # every fetch fails: the page rating's input is a snapshot exported by hand
    inbox_with_a_mention(tmp_path / "inbox", start, snapshot="telegram,akmola_tg")
    paths = Paths.resolve(inbox=tmp_path / "inbox", registry=reg,
                          warehouse=tmp_path / "w.duckdb", publish_dir=tmp_path / "publish")
    with servers(**broken) as urls, \
            metadata_connection("govpulse_vk", urls["vk"] + "/method", tokens["vk"],
                                monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_GOVPULSE_FACEBOOK", json.dumps(
            {"conn_type": "http", "host": urls["facebook"], "password": tokens["facebook"]}))
        # nothing listens there: requests names the whole URL, `key=` included, in its error
        monkeypatch.setenv("GOVPULSE_YOUTUBE_API_URL", f"http://127.0.0.1:{closed_port()}/yt")
        monkeypatch.setenv("GOVPULSE_YOUTUBE_TOKEN", tokens["youtube"])
        for platform in ("instagram", "telegram", "ok"):
            monkeypatch.setenv(f"GOVPULSE_{platform.upper()}_API_URL", urls[platform])
            monkeypatch.setenv(f"GOVPULSE_{platform.upper()}_TOKEN", tokens[platform])
        monkeypatch.setenv("GOVPULSE_HTTP_BACKOFF_SECONDS", "0.01")
        monkeypatch.setenv("GOVPULSE_HTTP_TIMEOUT_SECONDS", "0.3")
        monkeypatch.setenv("GOVPULSE_MIN_PAGE_COMPLETENESS", "0")
        as_if_closed(monkeypatch, start)
        outcome = run_weekly(paths, start.date())
    output = outputs(capfd)
    assert outcome.ok, outcome.reason
    assert leaks(tokens, [tmp_path, airflow_db], output) == []
    assert all(server.requests for server in broken.values())  # every platform was tried
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        reasons = dict(con.execute("SELECT platform, reason FROM ops.fetch_pages "
                                   "WHERE status = 'not_fetched'").fetchall())
    assert sorted(reasons) == sorted([*broken, "youtube"])
    assert "ConnectionError" in reasons["instagram"]
    assert "Malformed access token ***" in reasons["facebook"]
    assert "ConnectionError" in reasons["youtube"] and "key=***" in reasons["youtube"]
    assert "ReadTimeout" in reasons["telegram"]
    assert "HTTP 500" in reasons["ok"]
    assert "VK error 5" in reasons["vk"]


def test_the_airflow_connection_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from govpulse.orchestration.credentials import configured_platforms, credentials

    connection_token, env_token = canary("conn"), canary("env")
    monkeypatch.setenv("AIRFLOW_CONN_GOVPULSE_X", json.dumps(
        {"conn_type": "http", "host": "http://127.0.0.1:9/2", "password": connection_token}))
    monkeypatch.setenv("GOVPULSE_X_TOKEN", env_token)
    monkeypatch.setenv("GOVPULSE_X_API_URL", "http://127.0.0.1:9/env")
    with caplog.at_level("WARNING", logger="govpulse.orchestration.credentials"):
        found = credentials("x")
    assert found is not None
    assert (found.token, found.api_url) == (connection_token, "http://127.0.0.1:9/2")
    assert found.source == "Airflow connection govpulse_x"
    logged = outputs(capfd) + caplog.text  # Airflow may route logging to its own output
    assert ("x: GOVPULSE_X_TOKEN differs from the Airflow connection govpulse_x; using the "
            "connection") in logged
    assert connection_token not in logged and env_token not in logged
    assert connection_token not in repr(found) and "x" in configured_platforms()
    monkeypatch.delenv("AIRFLOW_CONN_GOVPULSE_X")
    found = credentials("x")  # without a connection: the environment (the CLI's case)
    assert found is not None
    assert (found.token, found.source) == (env_token, "environment GOVPULSE_X_TOKEN")
    monkeypatch.delenv("GOVPULSE_X_TOKEN")
    assert credentials("x") is None and "x" not in configured_platforms()


def test_http_library_debug_logs_never_show_a_query_token(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """urllib3 logs each request line, query string included, at DEBUG: even when someone
    turns that on, the token is masked."""
    import logging

    from ingestion.connectors import telegram

    token = canary("debug")
    server = TGStatServer(token)
    server.add(Channel(77, "akmola_tg", "Акмола"))
    monkeypatch.setattr(logging.getLogger("urllib3"), "level", logging.DEBUG)
    with serve(server) as url, caplog.at_level("DEBUG"):
        monkeypatch.setenv("GOVPULSE_TELEGRAM_API_URL", url)
        monkeypatch.setenv("GOVPULSE_TELEGRAM_TOKEN", token)
        client = telegram.Client.from_env()
        client.get_json("channels/get", {"channelId": "@akmola_tg"})
    logged = outputs(capfd) + caplog.text
    assert "/channels/get?" in logged and "token=***" in logged  # the debug line was there
    assert not [form for form, n in needles(token).items() if n.decode() in logged]
