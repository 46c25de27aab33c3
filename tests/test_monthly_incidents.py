"""The real `monthly_incidents` DAG (METHODOLOGY §5) on a hand-made case: every published number
of October 2026 worked out by hand below, ties and the two-incident minimum included, then
November with its movement."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from govpulse.orchestration.runner import run_dag
from govpulse.settings import Paths
from tests.support import write_files

OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)

REGISTRY = {
    "entities.csv": """
entity_id,level,name_ru,name_kk,parent_id,body_group,valid_from,valid_to
M1,district,Акимат района Первый,Бірінші аудан әкімдігі,,,,
M2,district,Акимат района Второй,,,,,
M3,district,Акимат района Третий,,,municipal,,
M4,district,Акимат района Четвёртый,,,,,
S1,body,Управление дорог,,,regional_service,,
S2,body,Управление ЖКХ,,,regional_service,,
OLD,body,Упразднённое управление,,,regional_service,,2026-09-30
""",
    "populations.csv": "entity_id,population,population_date\n",
    "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind\n",
    "aliases.csv": "entity_id,alias\n",
    "excluded_sources.csv": "platform,source_id,reason\n",
}

HEADER = ("incident_id,detected_at,body_id,category,municipality_id,first_response_at,"
          "resolved_at,answer_quality,satisfaction\n")

# Local (Asia/Almaty) times. Response minutes in the comments.
OCTOBER_FILE = HEADER + """\
i1,2026-10-01 09:00,M1,ЖКХ,M1,2026-10-01 09:30,2026-10-02 09:00,5,satisfied
i2,2026-10-02 10:00,M1,ЖКХ,M1,2026-10-02 19:00,2026-10-03 09:00,3,unsatisfied
i3,2026-10-03 08:00,M2,ЖКХ,M2,2026-10-03 08:45,2026-10-04 09:00,4,satisfied
i4,2026-10-04 08:00,M2,Дороги,M2,,,,satisfied
i5,2026-10-05 08:00,M2,Дороги,M2,2026-10-05 12:00,2026-10-06 09:00,4,
i6,2026-10-06 08:00,M3,Дороги,M3,2026-10-06 08:10,,2,
i7,2026-10-31 23:30,M3,Транспорт,M3,2026-11-01 00:30,2026-11-02 09:00,,satisfied
i8,2026-11-01 00:10,M3,,M3,,,,
i10,2026-10-07 08:00,M4,,M4,2026-10-07 08:30,,,
i11,2026-10-08 08:00,S1,ЖКХ,M1,2026-10-08 10:00,2026-10-09 09:00,5,satisfied
i12,2026-10-09 08:00,S1,Дороги,M2,2026-10-09 09:00,2026-10-10 09:00,5,unsatisfied
i13,2026-10-10 08:00,S2,,M1,2026-10-10 09:30,2026-10-11 09:00,4,unsatisfied
i14,2026-10-11 08:00,S2,,M2,,,,
o1,2026-10-12 08:00,OLD,,,,,,
o2,2026-10-13 08:00,OLD,,,,,,
i15,2026-10-14 08:00,NOPE,,,,,,
i16,2026-10-15 08:00,M4,,,2026-10-15 09:00,,7,
"""
# A later file corrects i6: answered at 08:20, not 08:10 (the later loaded copy wins).
CORRECTION_FILE = HEADER + "i6,2026-10-06 08:00,M3,Дороги,M3,2026-10-06 08:20,,2,\n"
NOVEMBER_FILE = HEADER + """\
n1,2026-11-02 08:00,M1,ЖКХ,M1,2026-11-02 08:10,2026-11-02 12:00,5,satisfied
n2,2026-11-03 08:00,M1,ЖКХ,M1,2026-11-03 08:10,2026-11-03 12:00,5,satisfied
n3,2026-11-02 08:00,M2,ЖКХ,M2,2026-11-02 09:00,,3,
n4,2026-11-03 08:00,M2,ЖКХ,M2,,,,
"""

INDICATORS = ("avg_response_minutes, resolved_count, resolved_satisfied_pct, answer_quality_avg, "
              "place_avg_response_minutes, place_resolved_count, place_resolved_satisfied_pct, "
              "place_answer_quality_avg, penalty_points, final_place, movement, body_group, "
              "incidents, answered_pct, overdue_pct")

OCTOBER_RATING = {
    # municipal group. M1: (30 + 540) / 2 = 285 min; 2 resolved; 1 of 2 satisfied; (5 + 3) / 2
    "M1": (285.0, 2, 50.0, 4.0, 3, 1, 3, 1, 8.0, 2, None, "municipal", 2, 100.0, 50.0),
    # M2: (45 + 240) / 2; i4's feedback does not count (not resolved), i5 has none
    "M2": (142.5, 2, 100.0, 4.0, 2, 1, 1, 1, 5.0, 1, None, "municipal", 3, 66.666667,
           33.333333),
    # M3: (20 + 60) / 2 after the correction of i6; i7 at 23:30 on 31 October is October's
    "M3": (40.0, 1, 100.0, 2.0, 1, 3, 1, 3, 8.0, 2, None, "municipal", 2, 100.0, 0.0),
    # regional services, ranked on their own: (120 + 60) / 2 = 90 and 90 tie
    "S1": (90.0, 2, 50.0, 5.0, 1, 1, 1, 1, 4.0, 1, None, "regional_service", 2, 100.0, 0.0),
    "S2": (90.0, 1, 0.0, 4.0, 1, 2, 2, 2, 7.0, 2, None, "regional_service", 2, 50.0, 50.0),
    # M4 has one incident (the two-incident minimum); OLD is closed since September
}
NOVEMBER_RATING = {
    # M1 leads everything: 4 points; M2 second everywhere (its satisfaction is NULL)
    "M1": (10.0, 2, 100.0, 5.0, 1, 1, 1, 1, 4.0, 1, 2 - 1, "municipal", 2, 100.0, 0.0),
    "M2": (60.0, 0, None, 3.0, 2, 2, 2, 2, 8.0, 2, 1 - 2, "municipal", 2, 50.0, 50.0),
    # M3 has only i8 (1 incident) in November
}


@pytest.fixture(scope="module")
def months(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("incidents")
    paths = Paths.resolve(
        inbox=write_files(root / "inbox", {"incidents/a_october.csv": OCTOBER_FILE,
                                           "incidents/b_correction.csv": CORRECTION_FILE}),
        registry=write_files(root / "registry", REGISTRY),
        warehouse=root / "private" / "warehouse.duckdb",
        publish_dir=root / "publish",
    )
    outcomes = {"october": run_dag("monthly", paths, OCTOBER, docs=False)}
    write_files(paths.inbox, {"incidents/c_november.csv": NOVEMBER_FILE})
    outcomes["november"] = run_dag("monthly", paths, NOVEMBER, docs=False)
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        for month, start in (("october", OCTOBER), ("november", NOVEMBER)):
            rows = con.execute(
                f"SELECT unit_id, {INDICATORS} FROM marts.rating_incidents_monthly_current "
                "WHERE period_start = ?", [start]).fetchall()
            outcomes[f"{month}_rating"] = {r[0]: r[1:] for r in rows}
        outcomes["stats"] = con.execute(
            "SELECT scope, incidents, bodies, answered_pct, overdue_pct, resolved_pct, "
            "satisfaction_pct, top_categories FROM marts.incident_stats_monthly_current "
            "WHERE period_start = ? ORDER BY scope", [OCTOBER]).fetchall()
        outcomes["quarantine"] = con.execute(
            "SELECT file, line, reason FROM ops.quarantine ORDER BY line").fetchall()
        outcomes["header"] = con.execute(
            "SELECT DISTINCT period_end, revision, unit_name, unit_name_kk "
            "FROM marts.rating_incidents_monthly WHERE unit_id = 'M1' AND period_start = ?",
            [OCTOBER]).fetchall()
    return outcomes


def test_both_months_publish(months: dict) -> None:
    for month in ("october", "november"):
        assert months[month].ok, months[month].reason
        assert months[month].run["revision_published"] == 1


def test_october_rating_equals_the_hand_computation(months: dict) -> None:
    assert months["october_rating"] == OCTOBER_RATING
    assert months["header"] == [(NOVEMBER, 1, "Акимат района Первый", "Бірінші аудан әкімдігі")]


def test_november_rating_and_movement(months: dict) -> None:
    assert months["november_rating"] == NOVEMBER_RATING


def test_reported_figures_of_october(months: dict) -> None:
    # 14 incidents of October (i8 is November's; i15 and i16 quarantined): answered 10,
    # overdue 5 (i2, i4, i14, o1, o2), resolved 8, feedback 5 satisfied of 8
    everything = ("all", 14, 7, 71.428571, 35.714286, 57.142857, 62.5,
                  "без категории (5); Дороги (4); ЖКХ (4); Транспорт (1)")
    assert months["stats"][0] == everything
    # OLD keeps its registry group although it is closed
    assert [row[:3] for row in months["stats"][1:]] == [("municipal", 8, 4),
                                                        ("regional_service", 6, 3)]


def test_unknown_body_and_bad_score_are_quarantined(months: dict) -> None:
    quarantine = months["quarantine"]
    assert [(file, line) for file, line, _ in quarantine] == [
        ("incidents/a_october.csv", 17), ("incidents/a_october.csv", 18)]
    assert "body_id" in quarantine[0][2] and "NOPE" in quarantine[0][2]
    assert "answer_quality" in quarantine[1][2]
