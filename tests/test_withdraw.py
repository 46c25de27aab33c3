"""Issue 14, cases 6 and 7 through the real DAGs: a week that is not over is refused and
nothing is published; a withdrawn week stays withdrawn when another week is run (current views,
show, bulletin, Parquet, the year's tables), its history kept with the reason; an explicit re-run
of that week publishes it again as a new revision."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from govpulse.cli import main
from govpulse.orchestration.runner import run_dag, run_weekly
from govpulse.publish.report import show
from govpulse.settings import Paths
from tests.support import two_region_registry, write_files

W1, W2 = date(2026, 11, 6), date(2026, 11, 13)
REASON = "the mentions export of another territory was landed by mistake"
MENTIONS = ("platform,mention_id,published_at,author_id,author_type,sentiment,entity_id\n"
            "vk,1,2026-11-07 12:00,a1,person,neutral,A\n"
            "vk,2,2026-11-07 13:00,a2,person,neutral,A\n"
            "vk,3,2026-11-14 12:00,a3,person,neutral,B\n")


def published(paths: Paths) -> dict:
    """What the published file, its Parquet, bulletin and `govpulse show` say of the weeks."""
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        def rows(sql: str) -> list[tuple]:
            return con.execute(sql).fetchall()

        state = {
            "current": rows("SELECT period_start, revision, unit_id, movement FROM "
                            "marts.rating_people_weekly_current ORDER BY ALL"),
            "current_pages": rows("SELECT DISTINCT period_start FROM "
                                  "marts.rating_explanations_current ORDER BY ALL"),
            "history": rows("SELECT period_start, revision FROM marts.rating_people_weekly "
                            "GROUP BY ALL ORDER BY ALL"),
            "withdrawals": rows("SELECT kind, period_start, revision, reason FROM "
                                "marts.withdrawals ORDER BY ALL"),
            "runs": rows("SELECT kind, period_start, status, revision_published FROM ops.runs "
                         "ORDER BY started_at"),
        }
    parquet = paths.publish_dir / "parquet" / "withdrawals"
    state["parquet"] = duckdb.sql(
        f"SELECT period_start, reason FROM read_parquet('{parquet}/*/*.parquet')"
    ).fetchall() if list(parquet.glob("*/*.parquet")) else []
    state["bulletin"] = (paths.bulletin_dir / W1.isoformat() / "index.html").read_text(
        encoding="utf-8")
    return state


@pytest.fixture(scope="module")
def weeks(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("withdraw")
    paths = Paths.resolve(
        inbox=write_files(root / "inbox", {"mentions/m.csv": MENTIONS}),
        registry=two_region_registry(root / "registry"),
        warehouse=root / "w.duckdb", publish_dir=root / "publish")
    assert run_weekly(paths, W1, docs=False).ok
    before = published(paths)
    withdrew = main(["withdraw", "weekly", W1.isoformat(), "--reason", REASON,
                     "--warehouse", str(paths.warehouse),
                     "--publish-dir", str(paths.publish_dir)])
    withdrawn = published(paths)
    other = run_weekly(paths, W2, docs=False)
    assert other.ok, other.reason
    after_other = published(paths)
    shown = show(paths.published_file)
    # the year's tables sum up the published weeks: the withdrawn one is not among them
    annual = run_dag("annual", paths, date(2026, 1, 1), docs=False)
    assert annual.ok, annual.reason
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        after_other["annual"] = con.execute(
            "SELECT rating, unit_id, weeks_rated FROM marts.rating_annual_current "
            "WHERE rating = 'people' ORDER BY ALL").fetchall()
    again = run_weekly(paths, W1, docs=False)
    assert again.ok, again.reason
    return {"paths": paths, "before": before, "withdrew": withdrew, "withdrawn": withdrawn,
            "after_other": after_other, "shown": shown, "again": published(paths),
            "again_run": again, "shown_again": show(paths.published_file)}


def test_a_withdrawn_week_is_published_withdrawn(weeks: dict) -> None:
    before, withdrawn = weeks["before"], weeks["withdrawn"]
    assert weeks["withdrew"] == 0
    assert {r[0] for r in before["current"]} == {W1}
    assert withdrawn["current"] == [] and withdrawn["current_pages"] == []
    # history kept, the withdrawal is revision 2 with its reason, published like a run
    assert withdrawn["history"] == [(W1, 1)]
    assert withdrawn["withdrawals"] == [("weekly", W1, 2, REASON)]
    assert withdrawn["runs"][-1] == ("weekly", W1, "success", 2)
    assert withdrawn["parquet"] == [(W1, REASON)]
    assert "отозваны" in withdrawn["bulletin"] and REASON in withdrawn["bulletin"]
    assert "<table" not in withdrawn["bulletin"]


def test_running_another_week_does_not_bring_it_back(weeks: dict) -> None:
    after = weeks["after_other"]
    assert {r[0] for r in after["current"]} == {W2}
    # W2 moves from nothing: the withdrawn week is not a rating to compare with
    assert {r[3] for r in after["current"]} == {None}
    assert after["history"] == [(W1, 1), (W2, 1)]
    assert after["withdrawals"] == [("weekly", W1, 2, REASON)]
    assert after["parquet"] == [(W1, REASON)]
    assert "отозваны" in after["bulletin"]
    # the annual table of 2026 (year to date) counts W2 only
    assert after["annual"] == [("people", "A", 1), ("people", "B", 1)]


def test_show_says_the_week_is_withdrawn(weeks: dict) -> None:
    shown = weeks["shown"]
    assert "неделя с 13.11.2026" in shown and "неделя с 06.11.2026 (ревизия" not in shown
    assert "Withdrawn: неделя с 06.11.2026 (revision 2, " in shown and REASON in shown
    assert "Withdrawn" not in weeks["shown_again"]  # run again on purpose: published


def test_an_explicit_re_run_of_the_week_publishes_it_again(weeks: dict) -> None:
    again = weeks["again"]
    # same inputs, yet a new revision above the withdrawal: the week was run on purpose
    assert again["history"] == [(W1, 1), (W1, 3), (W2, 1)]
    assert {(r[0], r[1]) for r in again["current"]} == {(W1, 3), (W2, 1)}
    assert weeks["again_run"].run["revision_published"] == 3
    assert again["withdrawals"] == [("weekly", W1, 2, REASON)]  # still on record
    assert "отозваны" not in again["bulletin"]


def test_withdrawing_twice_or_what_was_never_published_is_refused(
        weeks: dict, capsys: pytest.CaptureFixture) -> None:
    paths = weeks["paths"]
    options = ["--reason", "x", "--warehouse", str(paths.warehouse),
               "--publish-dir", str(paths.publish_dir)]
    assert main(["withdraw", "weekly", "2026-10-30", *options]) == 2
    assert "week 2026-10-30 has no published weekly rating" in capsys.readouterr().err
    assert main(["withdraw", "monthly", "2026-11", *options]) == 2
    assert main(["withdraw", "weekly", W2.isoformat(), "--reason", " ", *options[2:]]) == 2
    assert "say why" in capsys.readouterr().err


def test_a_week_not_over_is_refused_by_the_dag_and_nothing_is_published(
        weeks: dict, capfd: pytest.CaptureFixture) -> None:
    paths = weeks["paths"]
    friday = date.today() + timedelta(days=(4 - date.today().weekday()) % 7 + 7)
    before = paths.published_file.read_bytes()
    outcome = run_weekly(paths, friday, docs=False)
    assert not outcome.ok
    assert outcome.run == {}  # refused before it registered: no ops.runs row
    captured = capfd.readouterr()
    assert f"week {friday} closes on {friday + timedelta(days=7)} 00:00 Asia/Almaty" in (
        captured.out + captured.err + outcome.reason)
    assert paths.published_file.read_bytes() == before
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops.runs WHERE period_start = ?",
                           [friday]).fetchone()[0] == 0
