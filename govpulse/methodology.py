"""Read the methodology parameters from their one home: the vars of dbt_project.yml."""

from __future__ import annotations

import functools
import hashlib
import json
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


def version(params: dict[str, Any] | None = None) -> str:
    """The `methodology_version` dbt writes on every row: name + md5 of the parameter set
    (the same JSON dbt's `tojson(..., sort_keys=True)` produces)."""
    params = parameters() if params is None else params
    digest = hashlib.md5(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]
    return f"{params['name']}+{digest}"
