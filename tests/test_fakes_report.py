"""The monthly fakes report (METHODOLOGY §8) end to end on a hand-made case for Mari El
(Europe/Moscow): landing, the real dbt (monthly transform and marts, no Airflow), validation and
publication; every published figure is recomputed here in Python, apart from the warehouse.
A later run of the same month refutes the last unrefuted fakes: a new revision whose unrefuted
list is empty. The Kazakh default (no ratings list, no fakes) publishes empty fakes marts."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from govpulse.run import pipeline
from govpulse.run.context import RunContext
from govpulse.settings import DBT_PROJECT_DIR, PROJECT_DIR, Paths
from govpulse.warehouse.schema import connect, ensure_schema
from tests.support import write_files

pytestmark = pytest.mark.dbt  # the real dbt CLI (tests/conftest.py tiers)

OCTOBER = date(2026, 10, 1)
MOSCOW = ZoneInfo("Europe/Moscow")
MARI_EL = PROJECT_DIR / "registry" / "ru-mari-el"
CITY, MINZDRAV = "88701000", "body-minzdrav"
NAMES = {CITY: "городской округ «Город Йошкар-Ола»",
         MINZDRAV: "Министерство здравоохранения Республики Марий Эл"}

HEADER = "fake_id,claim,first_seen_at,platform,url,reach,body_id,refuted_at,refutation_url,"\
         "refutation_reach\n"
# Moscow midnights: 1 October is 2026-09-30T21:00Z, 1 November 2026-10-31T21:00Z.
OCTOBER_FAKES = HEADER + """\
before_local,Вода,2026-09-30 23:59:00,vk,,10,,,,
after_local,Воду отключат,2026-10-01 00:01:00,vk,u1,1000,88701000,2026-10-01 06:01:00,,400
before_z,Вода,2026-09-30T20:59:00Z,vk,,10,,,,
at_midnight_z,Карантин,2026-09-30T21:00:00Z,telegram,,,body-minzdrav,2026-10-01T21:00:00Z,,100
month_end,Автобусы отменят,2026-10-31 23:30:00+03:00,ok,u2,500,,,,
next_month,Вода,2026-11-01 00:10:00+03:00,vk,,10,,,,
next_month_z,Вода,2026-10-31T21:05:00Z,vk,,10,,,,
a_day_and_a_minute,Дорогу закроют,2026-10-10 10:00,vk,,2000,88701000,2026-10-11 10:01,,2000
dup,Сквер вырубят,2026-10-15 12:00,vk,,300,88701000,,,
dup,Сквер вырубят,2026-10-15 12:00,vk,,300,88701000,2026-10-15 15:30,,50
refuted_too_early,Школы закроют,2026-10-20 12:00,vk,,100,,2026-10-20 11:00,,
unrefuted,Лекарств нет,2026-10-25 09:00,telegram,,,body-minzdrav,,,
"""
# A later export refutes the two fakes still unrefuted (after the month: "up to the run").
LATER_FAKES = HEADER + """\
month_end,Автобусы отменят,2026-10-31 23:30:00+03:00,ok,u2,500,,2026-11-01T09:30:00Z,,250
unrefuted,Лекарств нет,2026-10-25 09:00,telegram,,,body-minzdrav,2026-11-02 09:00,,70
"""
INCIDENTS = ("incident_id,detected_at,body_id,first_response_at,answer_quality\n"
             "i1,2026-10-05 10:00,88701000,2026-10-05 11:00,4\n"
             "i2,2026-10-06 10:00,88701000,2026-10-06 12:00,5\n")

FIGURES = ("fakes_found, fakes_refuted, refuted_pct, median_hours_to_refutation, "
           "refuted_within_24h_pct, reach_fakes, reach_refutations, reach_ratio")


# ---- the independent computation (METHODOLOGY §0, §8) ----
def instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=MOSCOW) if moment.tzinfo is None else moment


def month_fakes(files: list[str], month: date) -> dict[str, dict[str, str]]:
    """The month's fakes: the later copy of a fake_id wins; rows refuted before they were seen
    are quarantined, not counted."""
    latest: dict[str, dict[str, str]] = {}
    for text in files:
        for row in csv.DictReader(io.StringIO(text)):
            if row["refuted_at"] and instant(row["refuted_at"]) < instant(row["first_seen_at"]):
                continue
            latest[row["fake_id"]] = row
    end = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return {k: r for k, r in latest.items()
            if month <= instant(r["first_seen_at"]).astimezone(MOSCOW).date() < end}


def hours(row: dict[str, str]) -> float:
    return (instant(row["refuted_at"]) - instant(row["first_seen_at"])).total_seconds() / 3600


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def expected_figures(fakes: dict[str, dict[str, str]]) -> tuple:
    found = len(fakes)
    refuted = [hours(r) for r in fakes.values() if r["refuted_at"]]
    reach = sum(int(r["reach"] or 0) for r in fakes.values())
    reach_refuting = sum(int(r["refutation_reach"] or 0) for r in fakes.values())
    return (found, len(refuted),
            rounded(len(refuted) / found * 100) if found else None,
            rounded(statistics.median(refuted)) if refuted else None,
            rounded(sum(h <= 24 for h in refuted) / found * 100) if found else None,
            reach, reach_refuting,
            rounded(reach_refuting / reach) if reach else None)


def expected_by_body(fakes: dict[str, dict[str, str]]) -> dict[str, tuple]:
    bodies: dict[str, list[dict[str, str]]] = {}
    for row in fakes.values():
        if row["body_id"]:
            bodies.setdefault(row["body_id"], []).append(row)
    out = {}
    for body, rows in bodies.items():
        refuted = [hours(r) for r in rows if r["refuted_at"]]
        out[body] = (NAMES[body], len(rows),
                     rounded(statistics.median(refuted)) if refuted else None)
    return out


# ---- a monthly run without Airflow: the DAG's steps in order ----
def dbt_build(run: RunContext, selector: str, root: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--selector", selector,
         "--exclude-resource-type", "unit_test", "--vars", json.dumps(pipeline.dbt_vars(run)),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--project-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(root / "target"), "--log-path", str(root / "logs")],
        env={**os.environ, **pipeline.dbt_env(run)}, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]


def run_month(paths: Paths, root: Path) -> dict:
    run = pipeline.start_run(paths, OCTOBER, kind="monthly", docs=False)
    pipeline.land(run)
    pipeline.validate(run, "raw")
    dbt_build(run, "monthly_transform", root)
    pipeline.validate(run, "candidates")
    dbt_build(run, "monthly_marts", root)
    return {"vars": pipeline.dbt_vars(run), **pipeline.publish(run)}


def published(paths: Paths) -> dict:
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        def rows(sql: str) -> list[tuple]:
            return con.execute(sql, [OCTOBER]).fetchall()
        return {
            "figures": rows(f"SELECT revision, {FIGURES} FROM marts.fakes_monthly "
                            "WHERE period_start = ? ORDER BY revision"),
            "current": rows(f"SELECT {FIGURES} FROM marts.fakes_monthly_current "
                            "WHERE period_start = ?"),
            "unrefuted": rows("SELECT revision, fake_id, claim, first_seen_at, platform, url, "
                              "reach, body_id, body_name FROM marts.fakes_unrefuted_monthly "
                              "WHERE period_start = ? ORDER BY revision, fake_id"),
            "unrefuted_current": rows("SELECT fake_id FROM marts.fakes_unrefuted_monthly_current "
                                      "WHERE period_start = ?"),
            "by_body": rows("SELECT revision, unit_id, unit_name, fakes_found, "
                            "median_hours_to_refutation FROM marts.fakes_by_body_monthly "
                            "WHERE period_start = ? ORDER BY revision, unit_id"),
            "by_body_current": rows("SELECT unit_id, unit_name, fakes_found, "
                                    "median_hours_to_refutation "
                                    "FROM marts.fakes_by_body_monthly_current "
                                    "WHERE period_start = ? ORDER BY unit_id"),
            "quarantine": con.execute("SELECT file, line, reason FROM ops.quarantine "
                                      "WHERE dataset = 'fakes'").fetchall(),
        }


@pytest.fixture(scope="module")
def mari_el(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("fakes")
    registry = root / "ru-mari-el"
    shutil.copytree(MARI_EL, registry)
    paths = Paths.resolve(
        inbox=write_files(root / "inbox", {"incidents/a.csv": INCIDENTS,
                                           "fakes/a_october.csv": OCTOBER_FAKES}),
        registry=registry, warehouse=root / "private" / "warehouse.duckdb",
        publish_dir=root / "publish")
    first = run_month(paths, root)
    after_first = published(paths)
    write_files(paths.inbox, {"fakes/b_later.csv": LATER_FAKES})
    second = run_month(paths, root)
    third = run_month(paths, root)  # nothing new: nothing appended
    return {"runs": [first, second, third], "first": after_first, "second": published(paths)}


def test_the_mari_el_run_produces_the_report(mari_el: dict) -> None:
    assert [r["vars"]["fakes_report"] for r in mari_el["runs"]] == ["true"] * 3
    assert [r["status"] for r in mari_el["runs"]] == ["success", "success", "unchanged"]


def test_figures_equal_the_independent_computation(mari_el: dict) -> None:
    fakes = month_fakes([OCTOBER_FAKES], OCTOBER)
    assert sorted(fakes) == ["a_day_and_a_minute", "after_local", "at_midnight_z", "dup",
                             "month_end", "unrefuted"]
    expected = expected_figures(fakes)
    # 6 fakes, 4 refuted after 6 h, 24 h, 24 h 1 min and 3.5 h: median 15 h, 3 within 24 h
    # (24 h itself is within); reach unknown counts 0
    assert expected == (6, 4, 66.666667, 15.0, 50.0, 3800, 2550, 0.671053)
    assert mari_el["first"]["figures"] == [(1, *expected)]


def test_unrefuted_list_and_bodies_of_the_first_run(mari_el: dict) -> None:
    assert mari_el["first"]["unrefuted"] == [
        (1, "month_end", "Автобусы отменят", instant("2026-10-31 23:30:00+03:00"), "ok",
         "u2", 500, None, None),
        (1, "unrefuted", "Лекарств нет", instant("2026-10-25 09:00"), "telegram", None, None,
         MINZDRAV, NAMES[MINZDRAV]),
    ]
    expected = expected_by_body(month_fakes([OCTOBER_FAKES], OCTOBER))
    assert {u: (n, f, m) for _, u, n, f, m in mari_el["first"]["by_body"]} == expected
    assert expected[CITY] == (NAMES[CITY], 3, 6.0)  # 6 h, 24 h 1 min, 3.5 h


def test_refuted_before_seen_is_quarantined_with_its_reason(mari_el: dict) -> None:
    [(file, line, reason)] = mari_el["first"]["quarantine"]
    assert (file, line) == ("fakes/a_october.csv", 12)
    assert "refuted_at is before first_seen_at" in reason


def test_a_later_refutation_is_a_new_revision(mari_el: dict) -> None:
    second = mari_el["second"]
    expected = expected_figures(month_fakes([OCTOBER_FAKES, LATER_FAKES], OCTOBER))
    assert expected[:2] == (6, 6)
    assert second["figures"] == [mari_el["first"]["figures"][0], (2, *expected)]
    assert second["current"] == [expected]
    # the list became empty: revision 1 keeps its rows, the current view shows none
    assert [r[:2] for r in second["unrefuted"]] == [(1, "month_end"), (1, "unrefuted")]
    assert second["unrefuted_current"] == []
    by_body = expected_by_body(month_fakes([OCTOBER_FAKES, LATER_FAKES], OCTOBER))
    assert {r[0] for r in second["by_body"]} == {1, 2}
    assert {u: (n, f, m) for u, n, f, m in second["by_body_current"]} == by_body


@pytest.fixture(scope="module")
def kazakh_default(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The Mari El bodies without territory.yml: no ratings list (every rating whose inputs
    exist), Asia/Almaty, and no fakes ever landed."""
    root = tmp_path_factory.mktemp("kz")
    registry = root / "kz"
    shutil.copytree(MARI_EL, registry)
    (registry / "territory.yml").unlink()
    paths = Paths.resolve(inbox=write_files(root / "inbox", {"incidents/a.csv": INCIDENTS}),
                          registry=registry, warehouse=root / "private" / "warehouse.duckdb",
                          publish_dir=root / "publish")
    outcome = run_month(paths, root)
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        counts = {t: con.execute(f"SELECT count(*) FROM marts.{t}").fetchone()[0]  # type: ignore[index]
                  for t in ("fakes_monthly", "fakes_monthly_current", "fakes_unrefuted_monthly",
                            "fakes_by_body_monthly", "fakes_by_body_monthly_current")}
    return {"outcome": outcome, "counts": counts}


def test_the_kazakh_default_without_fakes_publishes_empty_fakes_marts(kazakh_default: dict) -> None:
    assert kazakh_default["outcome"]["vars"]["fakes_report"] == "false"
    assert kazakh_default["outcome"]["status"] == "success"
    assert set(kazakh_default["counts"].values()) == {0}


def context(root: Path, ratings: str | None) -> RunContext:
    registry = root / "registry"
    registry.mkdir(parents=True, exist_ok=True)
    if ratings is not None:
        (registry / "territory.yml").write_text(
            f"territory_id: t\ntimezone: Europe/Moscow\nratings: {ratings}\n", encoding="utf-8")
    paths = Paths.resolve(inbox=root / "inbox", registry=registry,
                          warehouse=root / "private" / "warehouse.duckdb",
                          publish_dir=root / "publish")
    return RunContext("r", "monthly", OCTOBER, paths, published_at="2026-11-02T00:00:00+00:00")


@pytest.mark.unit
@pytest.mark.parametrize(("ratings", "landed", "expected"), [
    ("[incidents, fakes]", False, True),
    ("[incidents]", False, False),
    ("[incidents]", True, False),
    (None, False, False),  # the Kazakh default before any fake arrives
    (None, True, True),
])
def test_which_territories_produce_the_report(tmp_path: Path, ratings: str | None,
                                              landed: bool, expected: bool) -> None:
    run = context(tmp_path, ratings)
    if landed:
        with connect(run.paths.warehouse) as con:
            ensure_schema(con)
            con.execute("INSERT INTO raw.fakes (fake_id, claim, first_seen_at, _load_id, _run_id, "
                        "_file, _line, _loaded_at) VALUES ('f', 'c', now(), 1, 'r', 'f.csv', 2, "
                        "now())")
    assert pipeline.fakes_report(run) is expected
    assert pipeline.dbt_vars(run)["fakes_report"] == str(expected).lower()


@pytest.mark.unit
def test_the_candidate_check_recounts_the_month(tmp_path: Path) -> None:
    """fakes_found must equal the month's distinct fakes, refuted ≤ found, and the lists agree
    with the figures; a failure says which rule broke."""
    from govpulse.quality import validation

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA intermediate")
        con.execute("""
            CREATE TABLE intermediate.int_fakes_month AS
            SELECT * FROM (VALUES ('a', NULL::TIMESTAMPTZ), ('b', now())) t(fake_id, refuted_at);
            CREATE TABLE intermediate.int_fakes_unrefuted AS SELECT 'a' AS fake_id;
            CREATE TABLE intermediate.int_fakes_by_body AS SELECT 'B' AS unit_id,
                2::BIGINT AS fakes_found;
            CREATE TABLE intermediate.int_fakes_figures AS SELECT
                DATE '2026-10-01' AS period_start, DATE '2026-11-01' AS period_end,
                'v' AS methodology_version, 3::BIGINT AS fakes_found, 4::BIGINT AS fakes_refuted,
                133.3::DOUBLE AS refuted_pct, 1.0::DOUBLE AS median_hours_to_refutation,
                33.3::DOUBLE AS refuted_within_24h_pct, 0::BIGINT AS reach_fakes,
                0::BIGINT AS reach_refutations, NULL::DOUBLE AS reach_ratio
        """)
    report = validation.validate_candidates(warehouse, "r", OCTOBER, kind="monthly")
    failed = {r.column or r.expectation for r in report.results
              if r.suite == "fakes_report" and not r.success}
    assert {"found_mismatch", "refuted_beyond_found", "lists_mismatch", "refuted_pct"} <= failed
    assert "row_count_mismatch" not in failed
    assert "monthly fakes report" in report.summary(), report.summary()


@pytest.mark.unit
def test_a_csv_must_name_refuted_at_a_json_object_may_leave_it_out(tmp_path: Path) -> None:
    registry = tmp_path / "ru-mari-el"
    shutil.copytree(MARI_EL, registry)
    paths = Paths.resolve(
        inbox=write_files(tmp_path / "inbox", {
            "fakes/a.csv": "fake_id,claim,first_seen_at\nf1,Вода,2026-10-05 10:00\n",
            "fakes/b.jsonl": '{"fake_id": "f2", "claim": "Вода", '
                             '"first_seen_at": "2026-10-05 10:00"}\n'}),
        registry=registry, warehouse=tmp_path / "private" / "warehouse.duckdb",
        publish_dir=tmp_path / "publish")
    landed = pipeline.land(pipeline.start_run(paths, OCTOBER, kind="monthly", docs=False))
    assert landed["rows_loaded"]["fakes"] == 1
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        [(file, reason)] = con.execute("SELECT file, reason FROM ops.quarantine").fetchall()
        landed_at = con.execute("SELECT first_seen_at FROM raw.fakes").fetchall()
    assert file == "fakes/a.csv" and "refuted_at" in reason
    assert landed_at == [(instant("2026-10-05 10:00"),)]  # offset-less: Moscow time
