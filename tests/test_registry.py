"""A registry that contradicts itself stops the run before anything is loaded, naming the file,
the line and the fix."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from govpulse.warehouse.schema import connect
from ingestion.registry import RegistryError, load_registry
from tests import hand_case
from tests.support import write_files

ENTITIES = "entity_id,level,name_ru,parent_id,valid_from,valid_to\n"


def _load(tmp_path: Path, changes: dict[str, str], run_id: str | None = None) -> dict[str, int]:
    registry = write_files(tmp_path / "registry", {**hand_case.REGISTRY, **changes})
    with connect(tmp_path / "w.duckdb") as con:
        return load_registry(con, registry, run_id)


def test_consistent_registry_loads(tmp_path: Path) -> None:
    counts = _load(tmp_path, {})
    assert counts["entities"] == 7 and counts["pages"] == 11 and counts["expert_scores"] == 0


@pytest.mark.parametrize(("file", "text", "expected"), [
    ("pages.csv",
     "page_id,platform,platform_page_id,entity_id,page_kind\np1,vk,x,NOPE,official_region\n",
     "pages.csv:2: unknown entity_id 'NOPE' — add the entity to entities.csv"),
    ("entities.csv",
     "entity_id,level,name_ru\nA,region,Один\nA,region,Два\n",
     "entities.csv:3: entity_id 'A' valid always overlaps line 2 (valid always) — a rename is a "
     "new line: close the earlier line with valid_to the day before the new line's valid_from"),
    ("entities.csv",  # the last day of one version is the first day of the next: overlap
     ENTITIES + "A,region,Старое,,,2019-03-23\nA,region,Новое,,2019-03-23,\nB,region,Б,,,\n",
     "entities.csv:3: entity_id 'A' valid 2019-03-23.. overlaps line 2 (valid ..2019-03-23)"),
    ("entities.csv",
     ENTITIES + "A,region,Один,,2022-09-19,2022-09-18\nB,region,Б,,,\n",
     "entities.csv:2: valid_to 2022-09-18 is before valid_from 2022-09-19 — correct the dates"),
    ("pages.csv",
     "page_id,platform,platform_page_id,entity_id,page_kind,active_from,active_to\n"
     "p1,vk,x,A,official_region,2026-01-02,2026-01-01\n",
     "pages.csv:2: active_to 2026-01-01 is before active_from 2026-01-02"),
    ("entities.csv",
     ENTITIES + "A,region,Один,,,2022-06-07\nB,region,Б,,,\nA,district,Один,B,2022-06-08,\n",
     "entities.csv:4: entity_id 'A' changes level 'district' (line 2: 'region') — all lines of "
     "one entity_id keep its level and parent_id"),
    ("entities.csv",
     ENTITIES + "A,region,Один,,,\nB,region,Б,,,\nD,district,Д,A,,2022-06-07\n"
     "D,district,Д,B,2022-06-08,\n",
     "entities.csv:5: entity_id 'D' changes parent_id 'B' (line 4: 'A')"),
    ("populations.csv",
     "entity_id,population,population_date\nA,10,2023-01-01\n",
     "entities.csv:3: rated unit 'B' has no population — add at least one row for it"),
    ("pages.csv",
     "page_id,platform,platform_page_id,entity_id,page_kind\np1,myspace,x,A,official_region\n",
     "pages.csv:2: unknown platform ('myspace') — use one of vk, ok"),
    ("populations.csv",
     "entity_id,population,population_date\nA,many,2023-01-01\n",
     "populations.csv:2: population is not a valid bigint ('many')"),
])
def test_contradictions_stop_with_file_line_and_fix(
    tmp_path: Path, file: str, text: str, expected: str
) -> None:
    with pytest.raises(RegistryError) as error:
        _load(tmp_path, {file: text})
    assert expected in str(error.value)
    with connect(tmp_path / "w.duckdb") as con:  # nothing was loaded
        assert con.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'registry'"
        ).fetchone()[0] == 0


def test_missing_file_is_named(tmp_path: Path) -> None:
    registry = write_files(tmp_path / "registry", {
        k: v for k, v in hand_case.REGISTRY.items() if k != "aliases.csv"})
    with connect(tmp_path / "w.duckdb") as con, pytest.raises(RegistryError, match="aliases.csv"):
        load_registry(con, registry)


def test_name_history_is_versions_of_one_entity(tmp_path: Path) -> None:
    """Non-overlapping lines of one entity_id load as its versions (the capital's renames)."""
    entities = hand_case.REGISTRY["entities.csv"].replace(
        "\nA,region,Акмолинская область,Ақмола облысы,,,,\n",
        "\nA,region,г. Астана,,,,,2019-03-22"
        "\nA,region,г. Нур-Султан,,,,2019-03-23,2022-09-18"
        "\nA,region,г. Астана,,,,2022-09-19,\n")
    counts = _load(tmp_path, {"entities.csv": entities}, run_id="run-1")
    assert counts["entities"] == 7 + 2
    with connect(tmp_path / "w.duckdb") as con:
        assert con.execute(
            "SELECT name_ru, valid_from, valid_to FROM registry.entities WHERE entity_id = 'A' "
            "ORDER BY valid_from NULLS FIRST"
        ).fetchall()[1][0] == "г. Нур-Султан"


def test_every_load_records_the_files_it_used(tmp_path: Path) -> None:
    counts = _load(tmp_path, {}, run_id="run-1")
    _load(tmp_path, {}, run_id="run-2")
    with connect(tmp_path / "w.duckdb") as con:
        rows = con.execute(
            "SELECT run_id, file, sha256, rows FROM ops.registry_loads ORDER BY run_id, file"
        ).fetchall()
    registry = tmp_path / "registry"
    expected = [
        (f"{name}.csv", hashlib.sha256((registry / f"{name}.csv").read_bytes()).hexdigest(),
         counts[name])
        for name in sorted(("aliases", "entities", "excluded_sources", "pages", "populations"))
    ]
    assert rows == [("run-1", *e) for e in expected] + [("run-2", *e) for e in expected]
