"""Helpers shared by tests."""

from __future__ import annotations

from pathlib import Path


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
