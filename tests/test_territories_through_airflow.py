"""Two territories of one deployment (GOVPULSE_TERRITORIES) run through their own Airflow DAGs
(`<territory_id>__monthly_incidents`): each is published in its own folder with only its own
rows, and one territory's failed run leaves the other's publication exactly as it was."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from govpulse import deployment
from govpulse.orchestration.runner import run_dag
from govpulse.settings import PROJECT_DIR

OCTOBER = date(2026, 10, 1)
MARI_EL = PROJECT_DIR / "registry" / "ru-mari-el"
HEADER = "incident_id,detected_at,body_id,first_response_at,resolved_at,answer_quality\n"
# Волжский and Горномарийский districts (municipal), Минздрав (ministry) of the Mari El registry
BODIES = ("88604000", "88608000")


def _incidents(prefix: str) -> str:
    """Two incidents a body in October, offset-less (the territory's local time)."""
    rows = [f"{prefix}{n},2026-10-{day:02d} 09:00,{body},2026-10-{day:02d} 1{n}:00,,4\n"
            for n, (body, day) in enumerate(
                ((b, d) for b in BODIES for d in (3, 4)), start=1)]
    return HEADER + "".join(rows)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, airflow_db: Path):
    root = tmp_path_factory.mktemp("territories")
    folder = root / "territories"
    shutil.copytree(MARI_EL, folder / "ru-mari-el")
    # a second territory with the same bodies in another zone, under its own id
    shutil.copytree(MARI_EL, folder / "ru-second")
    (folder / "ru-second" / "territory.yml").write_text(
        "territory_id: ru-second\ntimezone: Asia/Yekaterinburg\nlanguages: [ru]\n"
        "ratings: [incidents]\n", encoding="utf-8")
    inbox = root / "inbox"
    (inbox / "ru-mari-el" / "incidents").mkdir(parents=True)
    (inbox / "ru-mari-el" / "incidents" / "october.csv").write_text(_incidents("m"),
                                                                     encoding="utf-8")
    (inbox / "ru-second" / "incidents").mkdir(parents=True)  # nothing dropped: its run fails
    env = {deployment.TERRITORIES_ENV: str(folder), "GOVPULSE_INBOX": str(inbox),
           "GOVPULSE_WAREHOUSE": str(root / "state" / "warehouse.duckdb"),
           "GOVPULSE_PUBLISH_DIR": str(root / "publish")}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield {t.territory_id: t for t in deployment.configured() or []}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_each_territory_runs_and_publishes_on_its_own(deployed) -> None:
    mari_el, second = deployed["ru-mari-el"], deployed["ru-second"]
    done = run_dag("monthly", mari_el.paths(), OCTOBER, docs=False, territory_id="ru-mari-el")
    assert done.ok, done.reason
    published = mari_el.paths().published_file
    assert published == mari_el.paths().publish_dir / "warehouse.duckdb"
    assert published.parent.name == "ru-mari-el"
    with duckdb.connect(str(published), read_only=True) as con:
        units = con.execute("SELECT unit_id, incidents FROM marts.rating_incidents_monthly_current "
                            "ORDER BY unit_id").fetchall()
    assert units == [(BODIES[0], 2), (BODIES[1], 2)]
    before = _digest(published)

    # the other territory's run fails (no incidents for its month): nothing of it is published
    # and the first territory's file is untouched
    failed = run_dag("monthly", second.paths(), OCTOBER, docs=False, territory_id="ru-second")
    assert not failed.ok
    assert "no incidents landed" in failed.reason
    assert not second.paths().published_file.exists()
    assert _digest(published) == before

    # it is mended by its own files and publishes in its own folder, Yekaterinburg's month
    (second.paths().inbox / "incidents" / "october.csv").write_text(_incidents("s"),
                                                                    encoding="utf-8")
    mended = run_dag("monthly", second.paths(), OCTOBER, docs=False, territory_id="ru-second")
    assert mended.ok, mended.reason
    with duckdb.connect(str(second.paths().published_file), read_only=True) as con:
        runs = con.execute("SELECT status FROM ops.runs ORDER BY started_at").fetchall()
        rated = con.execute("SELECT count(*) FROM marts.rating_incidents_monthly_current"
                            ).fetchone()
    # its own runs only (the failed one, if kept, and the mended one), none of Mari El's
    assert runs[-1] == ("success",) and len(runs) <= 2
    assert rated == (2,)
    assert _digest(published) == before
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops.runs").fetchone() == (1,)
