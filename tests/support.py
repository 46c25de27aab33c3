"""Helpers shared by tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write {relative path: text} under root; return root."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip("\n"), encoding="utf-8")
    return root


def two_region_registry(root: Path, more_entities: str = "") -> Path:
    """The smallest registry a weekly run rates: regions A «Первая область» and B «Вторая» with
    1,000 residents each, no pages, aliases or excluded sources; `more_entities` adds lines to
    entities.csv (entity_id,level,name_ru)."""
    return write_files(root, {
        "entities.csv": "entity_id,level,name_ru\nA,region,Первая область\nB,region,Вторая\n"
                        + more_entities,
        "populations.csv": "entity_id,population,population_date\nA,1000,2023-01-01\n"
                           "B,1000,2023-01-01\n",
        "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind\n",
        "aliases.csv": "entity_id,alias\n",
        "excluded_sources.csv": "platform,source_id,reason\n",
    })


DbtResult = subprocess.CompletedProcess


def run_dbt(command: str, select: list[str], warehouse: Path, root: Path) -> DbtResult:
    """The real dbt CLI on the project: `dbt <command> --select <models>` against `warehouse`,
    its target and logs under `root`. Tests take it as the `dbt` fixture (tier `dbt`)."""
    from govpulse.settings import DBT_PROJECT_DIR

    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), command, "--select", *select,
         "--profiles-dir", str(DBT_PROJECT_DIR), "--project-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(root / "target"), "--log-path", str(root / "logs")],
        env={**os.environ, "GOVPULSE_WAREHOUSE": str(warehouse), "DO_NOT_TRACK": "1"},
        capture_output=True, text=True, check=False,
    )


def fetcher(connector: ModuleType, page: Any, period: Any) -> Callable[..., list]:
    """fetch(page=page): every capture of a connector's fetch_page for `period`, with a client
    from the environment (the fixture server the `serve_api` fixture pointed it at)."""
    def fetch(page: Any = page) -> list:
        return list(connector.fetch_page(connector.Client.from_env(), page, period))
    return fetch
