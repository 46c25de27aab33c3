"""devtools.mari_el_demo: a deterministic, plausible month of Mari El's incidents and fakes that
lands as the contract says (only the two deliberately bad fakes are quarantined)."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from devtools import mari_el_demo
from govpulse.contract import DATASETS
from govpulse.run import pipeline
from govpulse.settings import Paths

OCTOBER = date(2026, 10, 1)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("mari-el-demo")
    counts = mari_el_demo.generate(root / "registry", root / "inbox", OCTOBER, seed=7)
    again = tmp_path_factory.mktemp("again")
    mari_el_demo.generate(again / "registry", again / "inbox", OCTOBER, seed=7)
    other = tmp_path_factory.mktemp("other")
    mari_el_demo.generate(other / "registry", other / "inbox", OCTOBER, seed=8)
    return {"root": root, "again": again, "other": other, "counts": counts}


def test_same_seed_same_bytes(demo: dict) -> None:
    for name in ("incidents/2026-10_incidents.csv", "fakes/2026-10_fakes.csv"):
        first = (demo["root"] / "inbox" / name).read_bytes()
        assert first == (demo["again"] / "inbox" / name).read_bytes()
        assert first != (demo["other"] / "inbox" / name).read_bytes()


def test_the_registry_is_the_shipped_one(demo: dict) -> None:
    for name in ("entities.csv", "territory.yml"):
        assert ((demo["root"] / "registry" / name).read_bytes()
                == (mari_el_demo.REGISTRY / name).read_bytes())


def test_incidents_are_plausible(demo: dict) -> None:
    incidents = rows(demo["root"] / "inbox" / "incidents" / "2026-10_incidents.csv")
    assert list(incidents[0]) == [c.name for c in DATASETS["incidents"]]
    assert demo["counts"]["incidents"] == len(incidents)
    bodies = [r["entity_id"] for r in rows(demo["root"] / "registry" / "entities.csv")
              if not r["valid_to"] or r["valid_to"] >= "2026-10-01"]
    per_body = Counter(r["body_id"] for r in incidents)
    assert set(per_body) == set(bodies) and min(per_body.values()) >= 2
    assert {r["category"] for r in incidents} <= set(mari_el_demo.CATEGORIES)
    for row in incidents:
        detected = datetime.fromisoformat(row["detected_at"])
        assert detected.tzinfo is None and detected.month == 10  # Moscow local time
        if row["first_response_at"]:
            minutes = (datetime.fromisoformat(row["first_response_at"]) - detected)
            assert 0 < minutes.total_seconds() <= 30 * 3600
            assert 1 <= int(row["answer_quality"]) <= 5
    answered = sum(bool(r["first_response_at"]) for r in incidents) / len(incidents)
    assert 0.75 < answered < 1


def test_fakes_are_plausible(demo: dict) -> None:
    fakes = rows(demo["root"] / "inbox" / "fakes" / "2026-10_fakes.csv")
    good = fakes[:-mari_el_demo.BAD_FAKES]
    assert 20 <= len(good) <= 40 and demo["counts"]["fakes"] == len(fakes)
    assert len({r["fake_id"] for r in fakes}) == len(fakes)
    refuted = [r for r in good if r["refuted_at"]]
    assert 0 < len(good) - len(refuted) < len(good) / 3  # a few unrefuted
    within_a_day = [r for r in refuted if (datetime.fromisoformat(r["refuted_at"])
                                           - datetime.fromisoformat(r["first_seen_at"])
                                           ).total_seconds() <= 24 * 3600]
    assert len(within_a_day) > len(refuted) / 2
    assert all("а" <= r["claim"][0].lower() <= "я" for r in good)  # claims in Russian


def test_it_lands_with_only_the_bad_fakes_quarantined(demo: dict) -> None:
    root = demo["root"]
    paths = Paths.resolve(inbox=root / "inbox", registry=root / "registry",
                          warehouse=root / "private" / "warehouse.duckdb",
                          publish_dir=root / "publish")
    run = pipeline.start_run(paths, OCTOBER, kind="monthly", docs=False)
    landed = pipeline.land(run)
    assert landed["rows_loaded"]["incidents"] == demo["counts"]["incidents"]
    assert landed["rows_loaded"]["fakes"] == demo["counts"]["fakes"] - 2
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        reasons = [r[0] for r in con.execute(
            "SELECT reason FROM ops.quarantine ORDER BY line").fetchall()]
    assert len(reasons) == demo["counts"]["fakes_quarantined"] == 2
    assert "refuted_at is before first_seen_at" in reasons[0]
    assert "unknown body_id" in reasons[1]
