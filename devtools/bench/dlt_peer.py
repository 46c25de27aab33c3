"""The ingestion peer: the week's raw inbox files loaded into a DuckDB file with dlt.

The way dlt's docs load local files: the `filesystem` resource lists the files, a reader
transformer (`read_csv_duckdb` for CSV, `read_jsonl` for JSON Lines, a small transformer for
JSON arrays, which dlt has no reader for) yields their records, and dlt normalises them into
tables of its own inferred schema (one per dataset) in a DuckDB file. Every row is loaded as it
is: no contract check, no deduplication, that is ingestion only. CSV cells are read as text, as
the warehouse's landing reads them (typing is the contract's job, and a column's type could
otherwise differ between two files of one dataset).

With pyarrow installed (`dlt[parquet]`), CSV chunks travel as Arrow tables and load as Parquet,
dlt's fast path; without it (the project's `dlt[duckdb]`), as Python dicts and JSON Lines.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# before dlt is imported: no usage data leaves the machine
os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"

import dlt
from dlt.sources.filesystem import (
    FileItemDict,
    filesystem,
    read_csv_duckdb,
    read_jsonl,
)

PIPELINE = "govpulse_bench"
DATASET = "inbox"
CHUNK = 10_000
ARROW = importlib.util.find_spec("pyarrow") is not None


@dlt.transformer(name="read_json_array")
def read_json_array(items: Iterator[FileItemDict]) -> Iterator[list[dict[str, Any]]]:
    """A JSON file holding one array of records, yielded in chunks."""
    for item in items:
        with item.open() as f:
            records = json.load(f)
        for start in range(0, len(records), CHUNK):
            yield records[start:start + CHUNK]


def _reader(suffix: str) -> Any:
    if suffix == ".csv":
        return read_csv_duckdb(chunk_size=CHUNK, use_pyarrow=ARROW, all_varchar=True)
    if suffix == ".jsonl":
        return read_jsonl(chunksize=CHUNK)
    if suffix == ".json":
        return read_json_array
    raise ValueError(f"no reader for {suffix} files")


def _named(names: set[str]) -> Any:
    return lambda item: item["file_name"] in names


def resources(inbox_files: dict[str, list[Path]]) -> list[Any]:
    """One `filesystem | reader` resource per (dataset, folder, file type), to table <dataset>."""
    groups: dict[tuple[str, Path, str], set[str]] = {}
    for dataset, files in inbox_files.items():
        for path in files:
            key = (dataset, path.parent.resolve(), path.suffix.lower())
            groups.setdefault(key, set()).add(path.name)
    out = []
    for n, ((dataset, folder, suffix), names) in enumerate(sorted(groups.items())):
        listed = filesystem(bucket_url=folder.as_uri(), file_glob="*")
        # only the files asked for (the folder holds other weeks and file types)
        listed.add_filter(_named(names))
        resource = (listed | _reader(suffix)).with_name(f"{dataset}_{n}")
        resource.apply_hints(table_name=dataset)
        out.append(resource)
    return out


def dlt_load(inbox_files: dict[str, list[Path]], work_dir: Path) -> dict[str, int]:
    """Load the files ({dataset: files}) into `<work_dir>/dlt.duckdb`; return rows per table.

    The pipeline's state lives under `<work_dir>/pipelines` (never in ~/.dlt); the load
    replaces the tables, so a second call loads the same rows again, not twice.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    database = work_dir / "dlt.duckdb"
    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE,
        pipelines_dir=str(work_dir / "pipelines"),
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name=DATASET,
    )
    # files DuckDB reads in bulk (its default, INSERT statements, is about three times slower)
    pipeline.run(resources(inbox_files), write_disposition="replace",
                 loader_file_format="parquet" if ARROW else "jsonl")
    with pipeline.sql_client() as client:
        return {
            dataset: (client.execute_sql(f'SELECT count(*) FROM "{dataset}"') or [[0]])[0][0]
            for dataset in sorted(inbox_files) if inbox_files[dataset]
        }
