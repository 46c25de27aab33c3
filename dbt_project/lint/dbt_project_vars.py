"""dbt_project.yml's vars for SQLFluff's jinja templater (`library_path` in .sqlfluff): linting
renders the models with the project's own methodology and rating catalogue, not a copy."""

from pathlib import Path

import yaml

PROJECT_FILE = Path(__file__).resolve().parents[1] / "dbt_project.yml"
VARS = yaml.safe_load(PROJECT_FILE.read_text(encoding="utf-8"))["vars"]
