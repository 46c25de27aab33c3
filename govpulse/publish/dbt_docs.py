"""dbt docs next to the published data: one self-contained page, <publish-dir>/docs/dbt/index.html.

dbt writes it (`dbt docs generate --static`): the lineage graph, every model's description and
columns, and the warehouse catalog. It is generated without compiling the models
(`--no-compile`), so no compiled SQL — which would name the pseudonym key — reaches the page; the
key is replaced by a placeholder for the same reason. The page only changes when the dbt project
or the warehouse's tables and columns do, so it is rebuilt only then: pages are cached by a
fingerprint of both under GOVPULSE_CACHE_DIR (default ~/.cache/govpulse).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from govpulse import settings
from govpulse.settings import DBT_PROJECT_DIR
from govpulse.warehouse.sql import first_row

log = logging.getLogger(__name__)

PAGE = "static_index.html"  # dbt's single-file docs site
PROJECT_FILES = ("*.yml", "models/**/*.sql", "models/**/*.yml", "macros/**/*.sql")


def fingerprint(warehouse: Path) -> str:
    """What the page is made of: the project's files and the catalog's tables and columns."""
    digest = hashlib.sha256()
    for pattern in PROJECT_FILES:
        for path in sorted(DBT_PROJECT_DIR.glob(pattern)):
            digest.update(path.relative_to(DBT_PROJECT_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    with duckdb.connect(str(warehouse), read_only=True) as con:
        catalog = first_row(con.execute(
            "SELECT string_agg(concat_ws('.', schema_name, table_name, column_name, data_type, "
            "comment), '|' ORDER BY ALL) FROM duckdb_columns() WHERE NOT internal"
        ))[0]
    digest.update((catalog or "").encode())
    return digest.hexdigest()


def cache_dir() -> Path:
    return settings.cache_dir()


def build_dbt_docs(warehouse: Path, out_dir: Path) -> Path:
    """Put the docs of the private warehouse's project and catalog at `out_dir/index.html`
    (replaced atomically), generating them unless a page of the same fingerprint exists; return
    its path. The caller holds the warehouse (one writer)."""
    target = out_dir / "index.html"
    cached = cache_dir() / "dbt-docs" / f"{fingerprint(warehouse)}.html"
    if not cached.exists():
        _generate(warehouse, cached)
    out_dir.mkdir(parents=True, exist_ok=True)
    staged = out_dir / f".index.html.{os.getpid()}.tmp"
    shutil.copyfile(cached, staged)
    os.replace(staged, target)
    log.info("dbt docs: %s", target)
    return target


def _generate(warehouse: Path, page_file: Path) -> None:
    dbt = Path(sys.executable).parent / "dbt"
    page_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="govpulse-dbt-docs-") as tmp:
        env = {**os.environ, "GOVPULSE_WAREHOUSE": str(warehouse),
               "GOVPULSE_PSEUDONYM_KEY": "pseudonym-key-not-published", "DO_NOT_TRACK": "1",
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
        places = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                  "--target-path", str(Path(tmp) / "target"),
                  "--log-path", str(Path(tmp) / "logs")]
        # `docs generate --no-compile` reads the manifest `dbt parse` writes (dbt 1.11)
        for command in (["parse"], ["docs", "generate", "--static", "--no-compile"]):
            result = subprocess.run([str(dbt), *command, *places], env=env,
                                    capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise RuntimeError(f"dbt {' '.join(command)} failed: {result.stdout[-2000:]}")
        staged = page_file.with_name(f".{page_file.name}.{os.getpid()}.tmp")
        shutil.copyfile(Path(tmp) / "target" / PAGE, staged)
        os.replace(staged, page_file)
