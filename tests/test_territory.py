"""Territory settings (CONTRACTS §2a): <registry>/territory.yml read and checked before a run."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from govpulse.territory import Territory, TerritoryError, load_territory


def _registry(tmp_path: Path, text: str | None, name: str = "ru-mari-el") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    if text is not None:
        (folder / "territory.yml").write_bytes(text.encode("utf-8"))
    return folder


def test_without_the_file_the_kazakh_defaults_apply(tmp_path: Path) -> None:
    territory = load_territory(_registry(tmp_path, None, name="kz"))
    assert territory == Territory(territory_id="kz")
    assert (territory.timezone, territory.week_starts, territory.deadline,
            territory.languages, territory.ratings) == (
        "Asia/Almaty", 4, time(18, 0), ("ru", "kk"), None)
    assert territory.runs("people") and territory.runs("fakes")


def test_a_russian_region_as_its_coordinator_writes_it(tmp_path: Path) -> None:
    # as Windows Notepad saves it: a BOM and CRLF line ends
    text = ("\ufeffterritory_id: ru-mari-el\r\nname_ru: Республика Марий Эл\r\n"
            "timezone: Europe/Moscow\r\nweek_starts: Monday\r\ndeadline: '12:00'\r\n"
            "languages: [ru]\r\nratings: [incidents, fakes]\r\n")
    territory = load_territory(_registry(tmp_path, text))
    assert territory.territory_id == "ru-mari-el"
    assert territory.name_ru == "Республика Марий Эл"
    assert territory.zone.key == "Europe/Moscow"
    assert territory.week_starts == 0 and territory.deadline == time(12, 0)
    assert territory.languages == ("ru",) and territory.ratings == ("incidents", "fakes")
    assert territory.runs("incidents") and not territory.runs("people")


def test_an_unquoted_deadline_is_read_as_the_time_people_wrote(tmp_path: Path) -> None:
    # YAML 1.1 reads 18:30 unquoted as a sexagesimal number (1110)
    assert load_territory(_registry(tmp_path, "deadline: 18:30\n")).deadline == time(18, 30)


def test_the_territory_id_defaults_to_the_folder_name(tmp_path: Path) -> None:
    assert load_territory(_registry(tmp_path, "timezone: Europe/Moscow\n")).territory_id == \
        "ru-mari-el"


@pytest.mark.parametrize(("text", "key", "value", "hint"), [
    ("timezone: Europe/Moskow\n", "timezone", "'Europe/Moskow'", "IANA time zone"),
    ("week_starts: fryday\n", "week_starts", "'fryday'", "monday"),
    ("ratings: [incidents, fake_news]\n", "ratings", "'fake_news'", "incidents"),
    ("deadline: 25:00\n", "deadline", "'25:00'", "18:00"),
    ("languages: [ru, de]\n", "languages", "'de'", "ru, kk"),
    ("territory_id: Mari El\n", "territory_id", "'Mari El'", "slug"),
])
def test_a_bad_value_names_file_key_and_value(tmp_path: Path, text: str, key: str,
                                              value: str, hint: str) -> None:
    registry = _registry(tmp_path, text)
    with pytest.raises(TerritoryError) as caught:
        load_territory(registry)
    message = str(caught.value)
    assert str(registry / "territory.yml") in message
    assert f"{key}:" in message and value.strip("'") in message and hint in message


def test_an_unknown_key_and_broken_yaml_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TerritoryError, match="unknown key 'time_zone'"):
        load_territory(_registry(tmp_path, "time_zone: Europe/Moscow\n", name="a"))
    with pytest.raises(TerritoryError, match="not readable YAML"):
        load_territory(_registry(tmp_path, "timezone: [Europe/Moscow\n", name="b"))


def test_govpulse_run_names_a_bad_territory_before_airflow_starts(tmp_path: Path) -> None:
    registry = _registry(tmp_path, "timezone: Europe/Moskow\n")
    done = subprocess.run(
        [sys.executable, "-m", "govpulse.cli", "run", "weekly", "--period-start", "2026-11-13",
         "--registry", str(registry), "--inbox", str(tmp_path / "inbox"),
         "--warehouse", str(tmp_path / "w.duckdb"), "--publish-dir", str(tmp_path / "pub")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "AIRFLOW_HOME":
                                                          str(tmp_path / "airflow")})
    assert done.returncode == 2, done.stderr
    assert "territory.yml: timezone: 'Europe/Moskow' is not an IANA time zone" in done.stderr
    assert not (tmp_path / "w.duckdb").exists()  # nothing landed, no warehouse made
    assert "Traceback" not in done.stderr


def test_a_fetch_asks_the_platform_for_the_territorys_week(tmp_path: Path) -> None:
    from datetime import UTC, date, datetime

    from ingestion.connectors.native import Period

    moscow = load_territory(_registry(tmp_path, "timezone: Europe/Moscow\nweek_starts: monday\n"))
    week = Period(date(2026, 11, 16), moscow.zone)
    assert (week.start_at, week.end_at) == (datetime(2026, 11, 15, 21, tzinfo=UTC),
                                            datetime(2026, 11, 22, 21, tzinfo=UTC))
    assert Period(date(2026, 11, 13)).start_at == datetime(2026, 11, 12, 19, tzinfo=UTC)
