"""Paths a run uses: a DuckLake target is refused by name until runs use the lake backend
(issue 17), never turned into a DuckDB file named after the conninfo."""

from __future__ import annotations

from pathlib import Path

import pytest

from govpulse.cli import main
from govpulse.settings import Paths

LAKE = "ducklake:postgres:dbname=lake host=127.0.0.1"


def test_a_lake_target_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="names a DuckLake .* not available yet"):
        Paths.resolve(warehouse=LAKE)
    monkeypatch.setenv("GOVPULSE_WAREHOUSE", LAKE)
    with pytest.raises(ValueError, match="GOVPULSE_WAREHOUSE"):
        Paths.resolve()


def test_the_cli_says_so_and_makes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "monthly", "--month", "2026-10", "--warehouse", LAKE]) == 2
    assert "not available yet" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
