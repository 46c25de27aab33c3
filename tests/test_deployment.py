"""A deployment that serves several territories (CONTRACTS §2a, GOVPULSE_TERRITORIES): which
territories it finds, each one's own paths, the DAGs Airflow gets for each (ids, kinds,
schedules in the territory's zone and week), and `govpulse territories`."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from govpulse import deployment
from govpulse.cli import main
from govpulse.deployment import DeploymentError
from govpulse.settings import DAGS_DIR, PROJECT_DIR

MARI_EL = PROJECT_DIR / "registry" / "ru-mari-el"
MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


def _territories(root: Path) -> Path:
    """kz (no territory.yml: every default), ru-mari-el (the shipped registry) and a Berlin
    territory whose weeks start on Monday and are due at 12:00, with weekly ratings only."""
    folder = root / "territories"
    (folder / "kz").mkdir(parents=True)
    (folder / "kz" / "entities.csv").write_text("entity_id,level,name_ru\nr1,region,Р\n",
                                                encoding="utf-8")
    shutil.copytree(MARI_EL, folder / "ru-mari-el")
    (folder / "de-be").mkdir()
    (folder / "de-be" / "territory.yml").write_text(
        "name_ru: Берлин\ntimezone: Europe/Berlin\nweek_starts: monday\ndeadline: '12:00'\n"
        "ratings: [people, region_pages]\n", encoding="utf-8")
    (folder / "notes").mkdir()  # not a registry: ignored
    return folder


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = _territories(tmp_path)
    monkeypatch.setenv(deployment.TERRITORIES_ENV, str(folder))
    monkeypatch.setenv("GOVPULSE_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("GOVPULSE_WAREHOUSE", str(tmp_path / "state" / "warehouse.duckdb"))
    monkeypatch.setenv("GOVPULSE_PUBLISH_DIR", str(tmp_path / "publish"))
    return tmp_path


def test_without_the_variable_a_deployment_has_one_territory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(deployment.TERRITORIES_ENV, raising=False)
    assert deployment.configured() is None
    assert deployment.choose() is None
    with pytest.raises(DeploymentError, match="GOVPULSE_TERRITORIES is not set"):
        deployment.choose("kz")


def test_each_territory_has_its_own_paths_and_kinds(deployed: Path) -> None:
    found = {t.territory_id: t for t in deployment.configured() or []}
    assert list(found) == ["de-be", "kz", "ru-mari-el"]
    mari_el = found["ru-mari-el"].paths()
    assert mari_el.inbox == deployed / "inbox" / "ru-mari-el"
    assert mari_el.warehouse == deployed / "state" / "ru-mari-el" / "warehouse.duckdb"
    assert mari_el.published_file == deployed / "publish" / "ru-mari-el" / "warehouse.duckdb"
    assert mari_el.registry == deployed / "territories" / "ru-mari-el"
    # no two territories share a file
    files = [(p.inbox, p.warehouse, p.publish_dir) for p in (t.paths() for t in found.values())]
    assert len({f for triple in files for f in triple}) == 3 * len(found)
    assert found["kz"].kinds() == ("weekly", "monthly", "annual")
    assert found["ru-mari-el"].kinds() == ("monthly",)
    assert found["de-be"].kinds() == ("weekly",)


def test_choosing_a_territory(deployed: Path) -> None:
    assert deployment.choose("kz").territory_id == "kz"  # type: ignore[union-attr]
    by_registry = deployment.choose(registry=deployed / "territories" / "ru-mari-el")
    assert by_registry is not None and by_registry.territory_id == "ru-mari-el"
    with pytest.raises(DeploymentError, match="several territories.*de-be, kz, ru-mari-el"):
        deployment.choose()
    with pytest.raises(DeploymentError, match="--territory xx is not one of"):
        deployment.choose("xx")
    with pytest.raises(DeploymentError, match="--registry .* is not the registry of"):
        deployment.choose(registry=deployed / "elsewhere")


def test_two_registries_with_one_id_are_refused(deployed: Path) -> None:
    (deployed / "territories" / "kz" / "territory.yml").write_text("territory_id: ru-mari-el\n",
                                                                  encoding="utf-8")
    with pytest.raises(DeploymentError, match="'ru-mari-el' is used by both .*kz.* and "
                                              ".*ru-mari-el"):
        deployment.configured()


def test_a_folder_that_is_not_there_says_so(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(deployment.TERRITORIES_ENV, str(tmp_path / "missing"))
    with pytest.raises(DeploymentError, match="is not a folder"):
        deployment.configured()
    monkeypatch.setenv(deployment.TERRITORIES_ENV, str(tmp_path))
    with pytest.raises(DeploymentError, match="holds no registry folder"):
        deployment.configured()


def test_territories_command_lists_them(deployed: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    assert main(["territories"]) == 0
    out = capsys.readouterr().out
    assert "ru-mari-el — Республика Марий Эл: Europe/Moscow" in out
    assert "DAGs: ru-mari-el__monthly_incidents\n" in out
    assert "de-be — Берлин: Europe/Berlin, weeks from monday, due 12:00" in out
    assert "ratings: all whose inputs exist" in out  # kz: no territory.yml
    assert f"published: {deployed / 'publish' / 'kz' / 'warehouse.duckdb'} — latest: " \
           "nothing yet" in out
    # a command on one of several territories must say which
    assert main(["show"]) == 2
    assert "choose one with --territory" in capsys.readouterr().err


@pytest.fixture
def bag(airflow_db: Path, deployed: Path):
    from airflow.dag_processing.dagbag import DagBag

    found = DagBag(dag_folder=str(DAGS_DIR))
    assert found.import_errors == {}
    return found


def test_airflow_gets_each_territorys_dags(bag) -> None:
    assert set(bag.dag_ids) == {
        "kz__weekly_ratings", "kz__monthly_incidents", "kz__annual_ratings",
        "ru-mari-el__monthly_incidents", "de-be__weekly_ratings"}
    mari_el = bag.get_dag("ru-mari-el__monthly_incidents")
    assert "ru-mari-el" in mari_el.tags
    # the month closes at Moscow midnight
    interval = mari_el.timetable.infer_manual_data_interval(
        run_after=datetime(2026, 11, 1, 0, 1, tzinfo=MOSCOW))
    assert (interval.start, interval.end) == (datetime(2026, 10, 1, tzinfo=MOSCOW),
                                              datetime(2026, 11, 1, tzinfo=MOSCOW))


def test_a_territorys_weeks_and_deadline_are_its_own(bag) -> None:
    from govpulse.deployment import choose
    from govpulse.run.deadlines import publication_deadline

    berlin = bag.get_dag("de-be__weekly_ratings")
    # across the end of summer time (25 October 2026): Monday to Monday local, 169 hours
    interval = berlin.timetable.infer_manual_data_interval(
        run_after=datetime(2026, 10, 26, 0, 1, tzinfo=BERLIN))
    assert (interval.start, interval.end) == (datetime(2026, 10, 19, tzinfo=BERLIN),
                                              datetime(2026, 10, 26, tzinfo=BERLIN))
    assert interval.end - interval.start == timedelta(hours=169)
    [alert] = berlin.deadline
    assert alert.callback.kwargs == {"kind": "weekly", "territory_id": "de-be"}
    territory = choose("de-be").territory  # type: ignore[union-attr]
    assert publication_deadline(interval.start, territory) == datetime(
        2026, 10, 26, 12, tzinfo=BERLIN)
    # Airflow's alert is a fixed interval from the week's start: in a zone with DST it comes
    # up to an hour late, never early (an early call would find the deadline not passed and
    # record nothing); the run's own check uses the exact local deadline
    alerted = interval.start + alert.interval
    assert alerted == datetime(2026, 10, 26, 12, tzinfo=BERLIN)
    summer = berlin.timetable.infer_manual_data_interval(
        run_after=datetime(2026, 7, 13, 0, 1, tzinfo=BERLIN))
    assert summer.start + alert.interval == datetime(2026, 7, 13, 13, tzinfo=BERLIN)
