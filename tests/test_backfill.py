"""`govpulse backfill`: every week and month between two dates through the real DAGs, in the
order they close; a second backfill over the same inputs publishes nothing new."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from govpulse.orchestration.backfill import Period, backfill, periods_between
from govpulse.settings import Paths
from tests.support import two_region_registry, write_files

W1, OCTOBER = date(2026, 10, 2), date(2026, 10, 1)


def test_periods_between_in_the_order_they_close() -> None:
    assert periods_between(date(2026, 9, 28), date(2026, 11, 5)) == [
        Period("weekly", date(2026, 10, 2)), Period("weekly", date(2026, 10, 9)),
        Period("weekly", date(2026, 10, 16)), Period("weekly", date(2026, 10, 23)),
        # October closes on 1 November, before the week of 30 October does
        Period("monthly", date(2026, 10, 1)), Period("weekly", date(2026, 10, 30)),
        Period("monthly", date(2026, 11, 1)),
    ]
    assert periods_between(date(2026, 10, 3), date(2026, 10, 8)) == []  # no Friday, no 1st
    assert [p.kind for p in periods_between(date(2026, 10, 1), date(2026, 10, 31),
                                            months=False)] == ["weekly"] * 5
    with pytest.raises(ValueError, match="before"):
        periods_between(date(2026, 10, 9), date(2026, 10, 2))


@pytest.fixture(scope="module")
def runs(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("backfill")
    registry = two_region_registry(root / "registry", "M,district,Акимат района\n")
    inbox = write_files(root / "inbox", {
        "mentions/m.csv": "platform,mention_id,published_at,author_id,author_type,sentiment,"
                          "entity_id\nvk,1,2026-10-03 12:00,a1,person,neutral,A\n"
                          "vk,2,2026-10-03 13:00,a2,person,neutral,B\n",
        "incidents/i.csv": "incident_id,detected_at,body_id,first_response_at\n"
                           "i1,2026-10-05 09:00,M,2026-10-05 10:00\n"
                           "i2,2026-10-06 09:00,M,\n",
    })
    paths = Paths.resolve(inbox=inbox, registry=registry, warehouse=root / "w.duckdb",
                          publish_dir=root / "publish")
    env = {**os.environ, "GOVPULSE_INBOX": str(paths.inbox),
           "GOVPULSE_REGISTRY": str(paths.registry), "GOVPULSE_WAREHOUSE": str(paths.warehouse),
           "GOVPULSE_PUBLISH_DIR": str(paths.publish_dir)}
    first = subprocess.run(
        [str(Path(sys.executable).parent / "govpulse"), "backfill", "--from", "2026-10-01",
         "--to", "2026-10-02"], env=env, capture_output=True, text=True, timeout=900)
    again = io.StringIO()
    repeated = backfill(paths, periods_between(date(2026, 10, 1), date(2026, 10, 2)), again)
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        published = con.execute(
            "SELECT kind, period_start, status, revision_published FROM ops.runs "
            "ORDER BY started_at").fetchall()
    return {"first": first, "repeated": repeated, "again": again.getvalue(),
            "published": published}


def test_backfill_runs_each_period_in_order_with_progress(runs: dict) -> None:
    first = runs["first"]
    assert first.returncode == 0, first.stderr[-3000:]
    headers = re.findall(r"^\[(\d)/2\] (.+) …$", first.stdout, re.M)
    assert headers == [("1", "week 2026-10-02"), ("2", "month 2026-10")]
    assert re.search(r"^  ✓ dbt_marts\s+\d+\.\d s", first.stdout, re.M)  # task progress
    assert "Backfill: 2 of 2 periods run" in first.stdout
    assert "2 published a new revision, 0 unchanged, 0 failed" in first.stdout


def test_a_second_backfill_publishes_nothing_new(runs: dict) -> None:
    assert [o.ok for _, o, _ in runs["repeated"]] == [True, True]
    assert "0 published a new revision, 2 unchanged, 0 failed" in runs["again"]
    assert runs["published"] == [
        ("weekly", W1, "success", 1), ("monthly", OCTOBER, "success", 1),
        ("weekly", W1, "unchanged", None), ("monthly", OCTOBER, "unchanged", None),
    ]
