"""Run one benchmark peer in this process and write what it did and cost as JSON.

    python -m devtools.bench.peers <floor|pandas|dlt> --inbox DIR --registry DIR \\
        --period-start YYYY-MM-DD --work DIR --out FILE.json

A harness starts one process per peer, so each is measured alone. The JSON holds `peer`,
`rows` (floor, pandas: the rating rows, keys as `devtools.bench.floor.COLUMNS`) or `result`
(dlt: rows loaded per table), `files` (the inbox files it read), `wall_s` and `cpu_s` (user +
system of this process and its children) of the peer's work — from after its libraries are
imported to its result — and `peak_rss_bytes` (the larger of this process's and its largest
child's peak resident set, over the whole process).

Which files belong to the week: the inbox files whose name starts with the week's
period_start (`YYYY-MM-DD`), as the generator and the export tools name them: for the ratings
`<inbox>/mentions/*.csv`; for dlt every dataset folder's `.csv`, `.jsonl` and `.json` files.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

# the inbox datasets of a week (incidents are monthly and not part of it)
WEEK_DATASETS = ("mentions", "page_snapshots", "page_posts", "post_interactions",
                 "follower_audits")
FILE_TYPES = (".csv", ".jsonl", ".json")


def week_files(inbox: Path, period_start: date, dataset: str,
               suffixes: tuple[str, ...] = FILE_TYPES) -> list[Path]:
    """The dataset's files of the week, in byte order of their names (the load order)."""
    folder = inbox / dataset
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.iterdir()
         if p.is_file() and p.name.startswith(period_start.isoformat())
         and p.suffix.lower() in suffixes),
        key=lambda p: p.name.encode(),
    )


def peer_function(peer: str) -> Callable[..., Any]:
    """The peer's entry function (imported here, before the clock starts)."""
    if peer == "floor":
        from devtools.bench.floor import floor_rating
        return floor_rating
    if peer == "pandas":
        from devtools.bench.pandas_peer import pandas_rating
        return pandas_rating
    if peer == "dlt":
        from devtools.bench.dlt_peer import dlt_load
        return dlt_load
    raise ValueError(f"unknown peer {peer!r}: floor, pandas or dlt")


def run_peer(peer: str, inbox: Path, registry: Path, period_start: date,
             work: Path) -> dict[str, Any]:
    """Run the peer; return its part of the report (`rows` or `result`, and `files`)."""
    function = peer_function(peer)
    if peer == "dlt":
        by_dataset = {d: week_files(inbox, period_start, d) for d in WEEK_DATASETS}
        by_dataset = {d: files for d, files in by_dataset.items() if files}
        return {"result": function(by_dataset, work),
                "files": [str(f) for files in by_dataset.values() for f in files]}
    files = week_files(inbox, period_start, "mentions", (".csv",))
    return {"rows": function(files, registry, period_start), "files": [str(f) for f in files]}


def _usage() -> tuple[float, int]:
    """CPU seconds (user + system, self and children) and peak RSS in bytes (Linux: KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return cpu, max(own.ru_maxrss, children.ru_maxrss) * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench.peers",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("peer", choices=("floor", "pandas", "dlt"))
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--registry", type=Path, required=True)
    parser.add_argument("--period-start", type=date.fromisoformat, required=True)
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (dlt)")
    parser.add_argument("--out", type=Path, required=True, help="the JSON report")
    args = parser.parse_args(argv)

    peer_function(args.peer)  # the peer's libraries load before the clock starts
    cpu_before, _ = _usage()
    start = time.perf_counter()
    report = {"peer": args.peer,
              **run_peer(args.peer, args.inbox, args.registry, args.period_start, args.work)}
    report["wall_s"] = round(time.perf_counter() - start, 3)
    cpu, rss = _usage()
    report["cpu_s"] = round(cpu - cpu_before, 3)
    report["peak_rss_bytes"] = rss
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
