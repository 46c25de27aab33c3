"""The methodology version names the exact parameter set: the one dbt computes is the one the
docs list, and changing any parameter changes it."""

from __future__ import annotations

import copy

from govpulse import methodology
from govpulse.settings import PROJECT_DIR


def test_any_parameter_change_is_a_new_version() -> None:
    params = methodology.parameters()
    changed = copy.deepcopy(params)
    changed["weights"]["people"]["mentions"] = 2
    assert methodology.version(changed) != methodology.version(params)
    assert methodology.version(copy.deepcopy(params)) == methodology.version(params)


def test_the_current_version_is_listed_in_the_docs() -> None:
    docs = (PROJECT_DIR / "docs" / "methodology-versions.md").read_text(encoding="utf-8")
    assert f"`{methodology.version()}`" in docs
