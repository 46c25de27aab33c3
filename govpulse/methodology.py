"""Read the methodology parameters from their one home: the vars of dbt_project.yml."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

DBT_PROJECT_FILE = Path(__file__).resolve().parent.parent / "dbt_project" / "dbt_project.yml"


@functools.cache
def parameters() -> dict[str, Any]:
    """The `methodology` var of dbt_project.yml (the defaults every run uses)."""
    with DBT_PROJECT_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)["vars"]["methodology"]


def weights(rating: str) -> dict[str, float]:
    """Indicator -> weight of a rating: people, region_pages, district_pages, insta_akims."""
    return dict(parameters()["weights"][rating])
