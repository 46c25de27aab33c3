"""Issue 14, cases 3 and 5, through one real weekly DAG run:

* one VK community of a registry's three that VK reports deleted (`groups.getById` item with
  `deactivated: "deleted"`) no longer blocks the week: ops.fetch_pages says `gone` with VK's
  words, a page_gone alert names the page and says to set active_to, and the page is rated
  with unknown values, ranked last;
* an X timeline recorded by another tool without `tweet.fields` (tweets without created_at
  and public_metrics, next to one complete tweet) no longer fails the week at dbt: the bad
  tweets are in ops.quarantine with reasons, the good one counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from govpulse.orchestration.runner import RunOutcome, run_weekly
from govpulse.settings import Paths
from ingestion.connectors.native import Capture, Page, Period, write_capture
from tests.platform_servers import serve
from tests.platform_servers.vk import Community, VkServer, post
from tests.support import write_files
from tests.test_fetch_to_rating import current_week_start

TOKEN = "vk-token-for-the-gone-page-test-41c2"
GROUPS = {"pA_vk": 300000001, "pB_vk": 300000002, "pC_vk": 300000003}  # pC_vk: deleted
X_PAGE = Page("pA_x", "x", "akmola_x", "A", "official_region")


@dataclass
class Week:
    outcome: RunOutcome
    paths: Paths
    x_capture: str  # the recorded X timeline, relative to the inbox


def sdk_recorded_timeline(start: datetime) -> dict:
    """users/:id/tweets as a public SDK recorded it without tweet.fields: X's defaults (id,
    text, edit_history_tweet_ids) only; one tweet was requested with the fields."""
    good = {"id": "1860000000000000003", "text": "ok", "edit_history_tweet_ids": ["1"],
            "created_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "public_metrics": {"retweet_count": 2, "reply_count": 3, "like_count": 40,
                               "quote_count": 1, "impression_count": 900}}
    bare = [{"id": f"18600000000000000{n:02d}", "text": "t", "edit_history_tweet_ids": ["2"]}
            for n in (2, 1)]
    return {"data": [bare[0], good, bare[1]],
            "meta": {"result_count": 3, "newest_id": bare[0]["id"], "oldest_id": bare[1]["id"]}}


@pytest.fixture(scope="module")
def week(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Week:
    root = tmp_path_factory.mktemp("gone")
    start = current_week_start()
    at = int((start + timedelta(hours=1)).timestamp())
    server = VkServer(TOKEN)
    for n, (page_id, group) in enumerate(GROUPS.items(), start=1):
        server.add(Community(group, page_id, members_count=1000 * n,
                             deactivated="deleted" if page_id == "pC_vk" else None,
                             posts=[post(-group, 1, at, likes=10 * n)]))
    registry = write_files(root / "registry", {
        "entities.csv": "entity_id,level,name_ru\nA,region,Акмолинская область\n"
                        "B,region,Костанайская область\nC,region,Павлодарская область\n",
        "populations.csv": "entity_id,population,population_date\nA,1000000,2023-01-01\n"
                           "B,900000,2023-01-01\nC,800000,2023-01-01\n",
        "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind\n"
                     + "".join(f"{p},vk,{g},{p[1]},official_region\n" for p, g in GROUPS.items())
                     + f"pA_x,x,{X_PAGE.platform_page_id},A,official_region\n",
        "aliases.csv": "entity_id,alias\nA,Акмола\nB,Костанай\nC,Павлодар\n",
        "excluded_sources.csv": "platform,source_id,reason\n",
    })
    inbox = root / "inbox"
    # a mention in the week: a week whose people rating has no input at all is not published
    mention_at = (start + timedelta(hours=1)).isoformat()
    write_files(inbox, {"mentions/m.csv": "platform,mention_id,published_at,author_id,"
                        f"author_type,sentiment,entity_id\nvk,m1,{mention_at},a1,person,"
                        "neutral,A\n"})
    # the X capture another tool recorded, dropped where the connectors write theirs
    captured = start + timedelta(hours=3)
    capture = write_capture(inbox, "x", Period(start.date()), Capture(
        "users/:id/tweets", sdk_recorded_timeline(start), {"id": "42"}, X_PAGE), captured)
    paths = Paths.resolve(inbox=inbox, registry=registry, warehouse=root / "w.duckdb",
                          publish_dir=root / "publish")
    with pytest.MonkeyPatch.context() as env, serve(server) as url:
        env.setenv("GOVPULSE_VK_API_URL", url + "/method")
        env.setenv("GOVPULSE_VK_TOKEN", TOKEN)
        env.setenv("GOVPULSE_HTTP_BACKOFF_SECONDS", "0.01")
        env.setenv("GOVPULSE_MIN_PAGE_COMPLETENESS", "0.9")
        env.setenv("GOVPULSE_NOW", (start + timedelta(days=7)).isoformat())  # week closed
        for platform in ("ok", "telegram", "youtube", "x", "instagram", "facebook"):
            env.delenv(f"GOVPULSE_{platform.upper()}_TOKEN", raising=False)
        outcome = run_weekly(paths, start.date(), docs=False)
    return Week(outcome, paths, capture.relative_to(inbox).as_posix())


def test_the_week_publishes_despite_a_deleted_page_and_bad_tweets(week: Week) -> None:
    assert week.outcome.ok, week.outcome.reason
    assert week.paths.published_file.exists()


def test_a_deleted_vk_community_is_gone_with_vks_words_and_an_alert(week: Week) -> None:
    with duckdb.connect(str(week.paths.published_file), read_only=True) as con:
        pages = dict(con.execute("SELECT page_id, status FROM ops.fetch_pages").fetchall())
        [reason] = con.execute(
            "SELECT reason FROM ops.fetch_pages WHERE page_id = 'pC_vk'").fetchone()
        alerts = con.execute("SELECT message FROM ops.alerts WHERE kind = 'page_gone'"
                             ).fetchall()
    assert pages == {"pA_vk": "fetched", "pB_vk": "fetched", "pC_vk": "gone"}
    assert 'deactivated: "deleted"' in reason
    [(alert,)] = alerts
    assert "vk page pC_vk (vk id 300000003) is gone" in alert
    assert "set active_to for pC_vk in the registry's pages.csv" in alert
    assert any("pC_vk" in a for a in week.outcome.alerts)  # the run's summary shows it
    assert TOKEN not in alert + reason


def test_the_gone_page_is_rated_unknown_and_ranked_last(week: Week) -> None:
    with duckdb.connect(str(week.paths.published_file), read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute(
            "SELECT unit_id, subscribers, engagement, final_place "
            "FROM marts.rating_region_pages_weekly_current").fetchall()}
    assert set(rows) == {"pA_vk", "pB_vk", "pC_vk", "pA_x"}
    subscribers, _, place = rows["pC_vk"]
    assert subscribers is None
    assert place == max(r[2] for r in rows.values())
    assert rows["pB_vk"][:2] == (2000, 20)


def test_tweets_without_created_at_are_quarantined_and_the_good_one_counts(week: Week) -> None:
    with duckdb.connect(str(week.paths.published_file), read_only=True) as con:
        quarantined = con.execute(
            "SELECT line, reason FROM ops.quarantine WHERE file = ? ORDER BY line",
            [week.x_capture]).fetchall()
        [engagement] = con.execute(
            "SELECT engagement FROM marts.rating_region_pages_weekly_current "
            "WHERE unit_id = 'pA_x'").fetchone()
    assert [line for line, _ in quarantined] == [1, 3]
    assert week.outcome.run["rows_quarantined"] == 2  # counted in the run's summary
    for _, reason in quarantined:
        assert "no publication time (created_at)" in reason
        assert "tweet.fields=created_at,public_metrics" in reason
    assert engagement == 40 + 3 + 2 + 1  # likes + replies + retweets + quotes of the good one
