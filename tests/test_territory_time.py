"""Territory time (CONTRACTS §2a, §3; METHODOLOGY §0, §5): a territory's offset-less inbox
timestamps are its local time, and its months start at its local midnight. The same incident
files are landed by the pipeline and put in months by the real dbt (the monthly transform,
no Airflow) for a Mari El-like registry (Europe/Moscow, UTC+3) and for a registry without
territory.yml (the Kazakh default, Asia/Almaty, UTC+5); each incident must fall in the month
zoneinfo puts it in. Likewise mentions and the week of Friday 2 October (the weekly run, dbt
up to the week's deduplicated mentions)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from govpulse.run import pipeline
from govpulse.run.context import RunContext
from govpulse.settings import DBT_PROJECT_DIR, PROJECT_DIR, Paths
from tests.support import write_files

pytestmark = pytest.mark.dbt  # the real dbt CLI (tests/conftest.py tiers)

OCTOBER = date(2026, 10, 1)
MARI_EL = PROJECT_DIR / "registry" / "ru-mari-el"
BODY = "88604000"  # Волжский муниципальный район, in the Mari El registry

# Just before and just after Moscow's and Almaty's midnights at both ends of October 2026,
# offset-less (the territory's local time) and with explicit offsets (instants).
DETECTED = {
    # 1 October: offset-less, local either way
    "local_sep_30_2359": "2026-09-30 23:59:00",
    "local_oct_01_0001": "2026-10-01 00:01:00",
    # around Moscow's midnight (21:00 UTC): Almaty has already passed its own
    "z_msk_sep_30_2330": "2026-09-30T20:30:00Z",
    "z_msk_oct_01_0030": "2026-09-30T21:30:00Z",
    "msk_sep_30_2350": "2026-09-30 23:50:00+03:00",
    "msk_oct_01_0010": "2026-10-01 00:10:00+03:00",
    # around Almaty's midnight (19:00 UTC): still 30 September in Moscow
    "z_alm_sep_30_2330": "2026-09-30T18:30:00Z",
    "z_alm_oct_01_0030": "2026-09-30T19:30:00Z",
    # 1 November
    "local_oct_31_2359": "2026-10-31 23:59:00",
    "local_nov_01_0001": "2026-11-01 00:01:00",
    "z_msk_oct_31_2350": "2026-10-31T20:50:00Z",
    "z_msk_nov_01_0010": "2026-10-31T21:10:00Z",
    "msk_oct_31_2330": "2026-10-31 23:30:00+03:00",
    "msk_nov_01_0030": "2026-11-01 00:30:00+03:00",
    "z_alm_oct_31_2330": "2026-10-31T18:30:00Z",
    "z_alm_nov_01_0030": "2026-10-31T19:30:00Z",
}
INCIDENTS = "incident_id,detected_at,body_id\n" + "".join(
    f"{incident},{detected},{BODY}\n" for incident, detected in DETECTED.items())


def instant(detected: str, zone: ZoneInfo) -> datetime:
    """The instant a detected_at names, computed apart from the warehouse: offset-less is the
    zone's local time."""
    moment = datetime.fromisoformat(detected)
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def in_october(detected: str, zone: ZoneInfo) -> bool:
    local_day = instant(detected, zone).astimezone(zone).date()
    return OCTOBER <= local_day < date(2026, 11, 1)


def territory_registry(root: Path, with_settings: bool) -> Path:
    """The Mari El registry copied under root; without territory.yml it is the Kazakh default."""
    registry = root / ("ru-mari-el" if with_settings else "kz")
    shutil.copytree(MARI_EL, registry)
    if not with_settings:
        (registry / "territory.yml").unlink()
    return registry


def landed_run(root: Path, with_settings: bool, files: dict[str, str], period: date,
               kind: str) -> tuple[Paths, RunContext, dict]:
    """A run of the registry (Mari El's settings or none) started and its inbox landed."""
    paths = Paths.resolve(
        inbox=write_files(root / "inbox", files),
        registry=territory_registry(root, with_settings),
        warehouse=root / "private" / "warehouse.duckdb",
        publish_dir=root / "publish",
    )
    run = pipeline.start_run(paths, period, kind=kind, docs=False)
    return paths, run, pipeline.land(run)


def dbt_build(root: Path, run: RunContext, *selection: str) -> None:
    """The real dbt build of a selection with the run's vars and environment."""
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [str(dbt), "build", *selection,
         "--exclude-resource-type", "unit_test", "--vars", json.dumps(pipeline.dbt_vars(run)),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--project-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(root / "target"), "--log-path", str(root / "logs")],
        env={**os.environ, **pipeline.dbt_env(run)}, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]


def month_of(root: Path, with_settings: bool) -> dict[str, object]:
    """Land the incidents for an October run of the registry, build the monthly transform and
    read back what the warehouse made of them."""
    paths, run, landed = landed_run(root, with_settings, {"incidents/incidents.csv": INCIDENTS},
                                    OCTOBER, "monthly")
    dbt_build(root, run, "--selector", "monthly_transform")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        staged = dict(con.execute(
            "SELECT incident_id, detected_at FROM staging.stg_inbox__incidents").fetchall())
        month = {r[0] for r in con.execute(
            "SELECT incident_id FROM intermediate.int_incidents_month").fetchall()}
    return {"landed": landed, "staged": staged, "month": month,
            "territory_timezone": pipeline.dbt_vars(run)["territory_timezone"],
            "session_timezone": pipeline.dbt_env(run)["GOVPULSE_TIMEZONE"]}


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    return {zone: month_of(tmp_path_factory.mktemp(zone.replace("/", "-")), with_settings)
            for zone, with_settings in (("Europe/Moscow", True), ("Asia/Almaty", False))}


@pytest.mark.parametrize("zone", ["Europe/Moscow", "Asia/Almaty"])
def test_the_run_carries_the_territory_zone_to_dbt(months: dict, zone: str) -> None:
    assert months[zone]["territory_timezone"] == zone
    assert months[zone]["session_timezone"] == zone
    landed = months[zone]["landed"]
    assert landed["rows_loaded"]["incidents"] == len(DETECTED)
    assert landed["rows_quarantined"] == 0


@pytest.mark.parametrize("zone", ["Europe/Moscow", "Asia/Almaty"])
def test_offset_less_times_are_local_and_offsets_stay_instants(months: dict, zone: str) -> None:
    expected = {incident: instant(detected, ZoneInfo(zone)).astimezone(UTC)
                for incident, detected in DETECTED.items()}
    staged = {incident: moment.astimezone(UTC)
              for incident, moment in months[zone]["staged"].items()}
    assert staged == expected


@pytest.mark.parametrize("zone", ["Europe/Moscow", "Asia/Almaty"])
def test_incidents_fall_in_the_month_of_the_territory_zone(months: dict, zone: str) -> None:
    expected = {incident for incident, detected in DETECTED.items()
                if in_october(detected, ZoneInfo(zone))}
    assert months[zone]["month"] == expected


def test_the_case_separates_the_two_zones() -> None:
    """Guard on the case itself: some incidents are October's in one zone only."""
    moscow = {i for i, d in DETECTED.items() if in_october(d, ZoneInfo("Europe/Moscow"))}
    almaty = {i for i, d in DETECTED.items() if in_october(d, ZoneInfo("Asia/Almaty"))}
    assert moscow - almaty == {"msk_oct_31_2330", "z_msk_oct_31_2350", "z_alm_nov_01_0030"}
    assert almaty - moscow == {"z_msk_sep_30_2330", "msk_sep_30_2350", "z_alm_oct_01_0030"}


# ---- weeks: mentions around the midnights that open and close the week of Friday 2 October
WEEK = date(2026, 10, 2)
PUBLISHED = {
    "local_oct_01_2359": "2026-10-01 23:59:00",
    "local_oct_02_0001": "2026-10-02 00:01:00",
    "z_msk_oct_01_2330": "2026-10-01T20:30:00Z",
    "z_msk_oct_02_0030": "2026-10-01T21:30:00Z",
    "msk_oct_01_2350": "2026-10-01 23:50:00+03:00",
    "msk_oct_02_0010": "2026-10-02 00:10:00+03:00",
    "z_alm_oct_01_2330": "2026-10-01T18:30:00Z",
    "z_alm_oct_02_0030": "2026-10-01T19:30:00Z",
    "local_oct_08_2359": "2026-10-08 23:59:00",
    "local_oct_09_0001": "2026-10-09 00:01:00",
    "z_msk_oct_08_2350": "2026-10-08T20:50:00Z",
    "z_msk_oct_09_0010": "2026-10-08T21:10:00Z",
    "z_alm_oct_08_2330": "2026-10-08T18:30:00Z",
    "z_alm_oct_09_0030": "2026-10-08T19:30:00Z",
}
MENTIONS = "platform,mention_id,published_at,author_id,author_type,sentiment\n" + "".join(
    f"vk,{mention},{published},a{n},person,neutral\n"
    for n, (mention, published) in enumerate(PUBLISHED.items()))


def in_week(published: str, zone: ZoneInfo) -> bool:
    local_day = instant(published, zone).astimezone(zone).date()
    return WEEK <= local_day < date(2026, 10, 9)


def week_of(root: Path, with_settings: bool) -> set[str]:
    """Land the mentions for the week's run of the registry and build the week's deduplicated
    mentions with the real dbt; the mention ids dbt put in the week."""
    paths, run, landed = landed_run(root, with_settings, {"mentions/mentions.csv": MENTIONS},
                                    WEEK, "weekly")
    assert landed["rows_loaded"]["mentions"] == len(PUBLISHED)
    dbt_build(root, run, "--select", "+int_mentions_deduplicated")
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return {r[0] for r in con.execute(
            "SELECT mention_id FROM intermediate.int_mentions_deduplicated").fetchall()}


@pytest.fixture(scope="module")
def weeks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    return {zone: week_of(tmp_path_factory.mktemp("week-" + zone.replace("/", "-")),
                          with_settings)
            for zone, with_settings in (("Europe/Moscow", True), ("Asia/Almaty", False))}


@pytest.mark.parametrize("zone", ["Europe/Moscow", "Asia/Almaty"])
def test_mentions_fall_in_the_week_of_the_territory_zone(weeks: dict, zone: str) -> None:
    expected = {m for m, published in PUBLISHED.items() if in_week(published, ZoneInfo(zone))}
    assert weeks[zone] == expected


def test_the_week_case_separates_the_two_zones() -> None:
    moscow = {m for m, p in PUBLISHED.items() if in_week(p, ZoneInfo("Europe/Moscow"))}
    almaty = {m for m, p in PUBLISHED.items() if in_week(p, ZoneInfo("Asia/Almaty"))}
    assert moscow - almaty and almaty - moscow
