"""Names people read for the body groups of a rating ranked by group (METHODOLOGY §5
`body_group`): the registry's optional `body_groups.csv` (columns body_group, name_ru, name_kk),
else the labels of `report.GROUPS` (the Kazakh wording, as before the file existed).

The file is read by the bulletin and the report only: the registry check and dbt never load it,
so a territory may add, rename or drop it without touching what is rated.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from govpulse.publish.report import GROUPS

FILE = "body_groups.csv"
COLUMNS = ("body_group", "name_ru", "name_kk")


@dataclass(frozen=True)
class GroupLabel:
    name_ru: str
    name_kk: str = ""


def load_group_labels(registry: Path | None) -> dict[str, GroupLabel]:
    """Group code -> its names, the file's groups first in its order, then the defaults'.
    Raises ValueError naming the file and line when a required column or value is missing."""
    labels: dict[str, GroupLabel] = {}
    path = Path(registry) / FILE if registry is not None else None
    if path is not None and path.exists():
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS[:2] if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: column {missing[0]} is missing (the columns are "
                                 f"{', '.join(COLUMNS)})")
            for line, row in enumerate(reader, start=2):
                code, name = (row["body_group"] or "").strip(), (row["name_ru"] or "").strip()
                if not code or not name:
                    raise ValueError(f"{path}: line {line}: body_group and name_ru are required")
                labels[code] = GroupLabel(name, (row.get("name_kk") or "").strip())
    for code, name in GROUPS.items():
        labels.setdefault(code, GroupLabel(name))
    return labels


def group_names(labels: dict[str, GroupLabel]) -> dict[str, str]:
    """Code -> Russian name, as `report.show(groups=...)` takes them."""
    return {code: label.name_ru for code, label in labels.items()}
