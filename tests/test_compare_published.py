"""devtools.compare_published: relations compared row for row, run-specific columns aside."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from devtools.compare_published import main


def _published(path: Path, score: int, run_id: str) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA ops")
        con.execute("CREATE TABLE marts.rating (unit VARCHAR, score INTEGER, published_at "
                    "TIMESTAMPTZ)")
        con.execute("INSERT INTO marts.rating VALUES ('a', ?, now()), ('b', 2, now())", [score])
        con.execute("CREATE TABLE ops.validations (run_id VARCHAR, details VARCHAR)")
        con.execute("INSERT INTO ops.validations VALUES (?, 'no rows for run ' || ?)",
                    [run_id, run_id])
    return path


def test_runs_that_differ_only_in_ids_and_times_compare_equal(tmp_path: Path) -> None:
    before = _published(tmp_path / "a.duckdb", 1, "weekly-2026-11-13-20261207T190228-ce9969")
    after = _published(tmp_path / "b.duckdb", 1, "weekly-2026-11-13-20261207T194711-0a4a31")
    assert main([str(before), str(after)]) == 0


def test_a_changed_value_is_reported(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    before = _published(tmp_path / "a.duckdb", 1, "r1")
    after = _published(tmp_path / "b.duckdb", 3, "r1")
    assert main([str(before), str(after)]) == 1
    assert "marts.rating: 1 rows only before, 1 only after" in capsys.readouterr().out
