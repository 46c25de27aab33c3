"""From a platform API to a published rating: the weekly DAG's VK fetch task calls the VK
loopback server (with a rate limit mid-way), lands the native JSON, and the published rating of
official region pages carries the fetched subscribers and engagement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import duckdb
import pytest

from govpulse.orchestration.runner import run_weekly
from govpulse.settings import Paths
from ingestion.connectors.native import ALMATY
from tests.platform_servers import Reply, serve
from tests.platform_servers.vk import Community, VkServer, post
from tests.support import write_files

TOKEN = "vk-token-for-the-dag-test-7e1d"
GROUP = 300000001


def current_week_start() -> datetime:
    """Friday 00:00 Asia/Almaty of the week now is in: captures taken now fall in its window."""
    now = datetime.now(ALMATY)
    friday = (now - timedelta(days=(now.weekday() - 4) % 7)).date()
    return datetime(friday.year, friday.month, friday.day, tzinfo=ALMATY)


def as_if_closed(monkeypatch: pytest.MonkeyPatch, start: datetime) -> None:
    """Rate the week under way as if it had closed (GOVPULSE_NOW, tests only: a week not over is
    refused): its captures are taken now, inside its window."""
    monkeypatch.setenv("GOVPULSE_NOW", (start + timedelta(days=7)).isoformat())


def inbox_with_a_mention(inbox: Path, start: datetime, snapshot: str = "") -> Path:
    """An inbox with one mention of region A in the week (a week without any mention is blocked:
    the people rating would have no input) and `snapshot` (platform,platform_page_id of a page
    snapshot exported by hand)."""
    at = (start + timedelta(hours=1)).isoformat()
    files = {"mentions/m.csv": "platform,mention_id,published_at,author_id,author_type,"
                               f"sentiment,entity_id\nvk,m1,{at},a1,person,neutral,A\n"}
    if snapshot:
        files["page_snapshots/s.csv"] = ("platform,platform_page_id,captured_at,subscribers\n"
                                         f"{snapshot},{at},100\n")
    return write_files(inbox, files)


def test_fetched_vk_page_is_rated_with_its_subscribers_and_engagement(
    airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = current_week_start()
    at = int((start + timedelta(minutes=1)).timestamp())
    before = int((start - timedelta(hours=1)).timestamp())
    server = VkServer(TOKEN)
    server.add(Community(GROUP, "akmola_akimat", members_count=5400, posts=[
        post(-GROUP, 1, before - 400 * 86400, likes=50, pinned=True),  # old pinned post first
        post(-GROUP, 102, at + 60, likes=4, comments=None, reposts=1),  # comments missing
        post(-GROUP, 101, at, likes=10, comments=2, reposts=3),
        post(-GROUP, 100, before, likes=7),  # last week's post
    ]))
    # the first request is rate-limited (VK answers inside HTTP 200) and asks for 1 s
    server.failures.append(Reply(200, {"error": {"error_code": 6, "error_msg": "Too many "
                                                 "requests per second"}},
                                 {"Retry-After": "1"}))
    registry = write_files(tmp_path / "registry", {
        "entities.csv": "entity_id,level,name_ru\nA,region,Акмолинская область\n",
        "populations.csv": "entity_id,population,population_date\nA,1000000,2023-01-01\n",
        "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind\n"
                     f"pA_vk,vk,{GROUP},A,official_region\n",
        "aliases.csv": "entity_id,alias\nA,Акмолинская область\n",
        "excluded_sources.csv": "platform,source_id,reason\n",
    })
    inbox_with_a_mention(tmp_path / "inbox", start)
    paths = Paths.resolve(inbox=tmp_path / "inbox", registry=registry,
                          warehouse=tmp_path / "w.duckdb", publish_dir=tmp_path / "publish")
    with serve(server) as url:
        monkeypatch.setenv("GOVPULSE_VK_API_URL", url + "/method")
        monkeypatch.setenv("GOVPULSE_VK_TOKEN", TOKEN)
        monkeypatch.setenv("GOVPULSE_HTTP_BACKOFF_SECONDS", "0.01")
        as_if_closed(monkeypatch, start)
        outcome = run_weekly(paths, start.date())
    assert outcome.ok, outcome.reason

    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        row = con.execute(
            "SELECT subscribers, engagement, er_subscribers_pct, engagement_per_1k_pop, "
            "final_place FROM marts.rating_region_pages_weekly_current WHERE unit_id = 'pA_vk'"
        ).fetchone()
        fetched = con.execute("SELECT page_id, status FROM ops.fetch_pages").fetchall()
        completeness = con.execute(
            "SELECT bool_and(success) FROM ops.validations WHERE suite = 'fetch_completeness'"
        ).fetchone()[0]
    # 15 + 5 from the two posts of the week; the pinned and last week's posts do not count
    assert row == (5400, 20, round(20 / 5400 * 100, 6), 0.02, 1)
    assert fetched == [("pA_vk", "fetched")]
    assert len(server.requests) >= 3  # the rate-limited call was retried
    assert completeness is True
    # every byte the run wrote: inbox, warehouse, published files, validation results, and
    # Airflow's metadata database (XCom, task state) and logs
    assert files_holding(TOKEN, tmp_path, airflow_db) == []
    assert datetime.now(UTC) > start  # the week had begun: captures are inside its window


def files_holding(secret: str, *folders: Path) -> list[Path]:
    """Files under the folders whose bytes contain the secret (as written, or URL-encoded)."""
    needles = {secret.encode(), quote(secret).encode()}
    return [path for folder in folders for path in sorted(folder.rglob("*"))
            if path.is_file() and any(n in path.read_bytes() for n in needles)]


def akmola_registry(root: Path, more_pages: str = "") -> Path:
    """Region A «Акмолинская область» with its VK page, plus `more_pages` (pages.csv lines)."""
    return write_files(root, {
        "entities.csv": "entity_id,level,name_ru\nA,region,Акмолинская область\n",
        "populations.csv": "entity_id,population,population_date\nA,1000000,2023-01-01\n",
        "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind\n"
                     f"pA_vk,vk,{GROUP},A,official_region\n" + more_pages,
        "aliases.csv": "entity_id,alias\nA,Акмола\n",
        "excluded_sources.csv": "platform,source_id,reason\n",
    })


def test_fetch_command_reports_pages_and_stops_at_a_refused_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from govpulse.cli import main

    start = current_week_start()
    server = VkServer(TOKEN)
    server.add(Community(GROUP, "akmola_akimat", members_count=10, posts=[]))
    registry = akmola_registry(tmp_path / "registry")
    args = ["fetch", "vk", "--period-start", start.date().isoformat(),
            "--registry", str(registry), "--inbox", str(tmp_path / "inbox")]
    with serve(server) as url:
        monkeypatch.setenv("GOVPULSE_VK_API_URL", url + "/method")
        monkeypatch.setenv("GOVPULSE_VK_TOKEN", TOKEN)
        assert main(args) == 0
        assert "vk: 1/1 pages fetched" in capsys.readouterr().out
        server.expired.add(TOKEN)
        assert main(args) == 1
    output = capsys.readouterr()
    assert "GOVPULSE_VK_TOKEN" in output.out + output.err
    assert TOKEN not in output.out + output.err


def test_a_configured_platform_that_fetched_nothing_stops_the_week(
    airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OK has a token the connector cannot use (not `key:secret:token`): its fetch task fails
    before the first request. The week must not publish without OK as if it had no token:
    fetch_completeness fails for OK. Telegram has registry pages but no token: not counted."""
    start = current_week_start()
    server = VkServer(TOKEN)
    server.add(Community(GROUP, "akmola_akimat", members_count=10, posts=[]))
    registry = akmola_registry(tmp_path / "registry",
                               "pA_ok,ok,54000000000001,A,official_region\n"
                               "pA_tg,telegram,akmola_tg,A,official_region\n")
    (tmp_path / "inbox").mkdir()
    paths = Paths.resolve(inbox=tmp_path / "inbox", registry=registry,
                          warehouse=tmp_path / "w.duckdb", publish_dir=tmp_path / "publish")
    monkeypatch.delenv("GOVPULSE_TELEGRAM_TOKEN", raising=False)
    with serve(server) as url:
        monkeypatch.setenv("GOVPULSE_VK_API_URL", url + "/method")
        monkeypatch.setenv("GOVPULSE_VK_TOKEN", TOKEN)
        monkeypatch.setenv("GOVPULSE_OK_TOKEN", "only-one-part")
        as_if_closed(monkeypatch, start)
        outcome = run_weekly(paths, start.date())
    assert not outcome.ok
    assert "validate_raw" in outcome.reason
    assert not paths.published_file.exists()
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        pages = con.execute("SELECT platform, page_id, status, reason FROM ops.fetch_pages "
                            "ORDER BY platform").fetchall()
        [observed] = con.execute(
            "SELECT observed_value FROM ops.validations "
            "WHERE suite = 'fetch_completeness' AND NOT success").fetchone()
    assert [p[:3] for p in pages] == [("ok", "pA_ok", "not_fetched"), ("vk", "pA_vk", "fetched")]
    assert "GOVPULSE_OK_TOKEN must be" in pages[0][3]
    # the failure says which platform, how many pages, which page, why and what to change
    assert "ok: 1 of 1 pages not fetched" in observed
    assert "pA_ok (ok id 54000000000001): ok: GOVPULSE_OK_TOKEN must be" in observed
    assert "GOVPULSE_MIN_PAGE_COMPLETENESS" in observed and "ok: 1 of 1" in outcome.reason
    assert "telegram" not in observed
