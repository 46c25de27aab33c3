"""A registry that contradicts itself stops the run before anything is loaded, naming the file,
the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.registry import RegistryError, load_registry
from ingestion.warehouse import connect
from tests import hand_case
from tests.support import write_files


def _load(tmp_path: Path, changes: dict[str, str]) -> dict[str, int]:
    registry = write_files(tmp_path / "registry", {**hand_case.REGISTRY, **changes})
    with connect(tmp_path / "w.duckdb") as con:
        return load_registry(con, registry)


def test_consistent_registry_loads(tmp_path: Path) -> None:
    counts = _load(tmp_path, {})
    assert counts["entities"] == 7 and counts["pages"] == 11 and counts["expert_scores"] == 0


@pytest.mark.parametrize(("file", "text", "expected"), [
    ("pages.csv",
     "page_id,platform,platform_page_id,entity_id,page_kind\np1,vk,x,NOPE,official_region\n",
     "pages.csv:2: unknown entity_id 'NOPE' — add the entity to entities.csv"),
    ("entities.csv",
     "entity_id,level,name_ru\nA,region,Один\nA,region,Два\n",
     "entities.csv:3: duplicate entity_id 'A' (first on line 2)"),
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
