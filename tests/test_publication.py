"""The published file as BI tools meet it, through the real weekly DAG: a reader in another process
keeps reading the old state while a run publishes; DuckDB 1.4 opens the file; tables and columns
carry their dbt descriptions; the rating histories are also written as partitioned Parquet."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from govpulse.orchestration.runner import run_weekly
from govpulse.publish.parquet import history_tables
from govpulse.settings import Paths
from tests.support import two_region_registry, write_files

ROOT = Path(__file__).resolve().parents[1]
WEEK1, WEEK2 = date(2026, 11, 6), date(2026, 11, 13)
HEADER = ("platform,mention_id,published_at,text,author_id,author_type,likes,sentiment,"
          "entity_id\n")
WEEKLY_CURRENT = {f"{name}_current" for name in (
    "rating_people_weekly", "rating_region_pages_weekly", "rating_district_pages_weekly",
    "rating_insta_akims_weekly")}
POLL = "SELECT max(revision), count(*) FROM marts.rating_people_weekly_current"

# Runs in another process: one read-only connection, a query polled until told to stop.
READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import duckdb
    published, ready, stop = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    con = duckdb.connect(published, read_only=True)
    states, errors, polls = set(), [], 0
    while True:
        try:
            states.add(tuple(con.execute(sys.argv[4]).fetchone()))
        except Exception as error:  # noqa: BLE001 - reported to the test
            errors.append(repr(error))
        polls += 1
        ready.touch()
        if stop.exists():
            break
        time.sleep(0.02)
    con.close()
    print(json.dumps({"polls": polls, "states": sorted(states), "errors": errors[:5]}))
""")


def mentions(week: date, prefix: str, entity: str, count: int) -> str:
    day = f"{week.year}-{week.month:02d}-{week.day + 1:02d} 12:00"
    return "".join(f"vk,{prefix}{i},{day},x,a{prefix}{i},person,1,neutral,{entity}\n"
                   for i in range(count))


def _state(published: Path) -> tuple:
    with duckdb.connect(str(published), read_only=True) as con:
        return tuple(con.execute(POLL).fetchone())


@pytest.fixture(scope="module")
def published(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Week 1; a late file for week 1 (revision 2) published while another process reads the
    file; then week 2."""
    root = tmp_path_factory.mktemp("publication")
    registry = two_region_registry(root / "registry")
    inbox = write_files(root / "inbox", {
        "mentions/w1.csv": HEADER + mentions(WEEK1, "a", "A", 2) + mentions(WEEK1, "b", "B", 1),
    })
    paths = Paths.resolve(inbox=inbox, registry=registry, warehouse=root / "w.duckdb",
                          publish_dir=root / "publish")
    outcomes = [run_weekly(paths, WEEK1)]
    assert outcomes[0].ok, outcomes[0].reason
    before = _state(paths.published_file)

    ready, stop = root / "reader.ready", root / "reader.stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(paths.published_file), str(ready), str(stop), POLL],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert reader.poll() is None, reader.communicate()
            assert time.monotonic() < deadline, "the reader process did not start"
            time.sleep(0.05)
        write_files(inbox, {"mentions/w1_late.csv": HEADER + mentions(WEEK1, "late", "B", 3)})
        outcomes.append(run_weekly(paths, WEEK1))
        after_late = _state(paths.published_file)  # a fresh connection, reader still open
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    write_files(inbox, {"mentions/w2.csv": HEADER + mentions(WEEK2, "c", "B", 1)})
    outcomes.append(run_weekly(paths, WEEK2))
    assert all(o.ok for o in outcomes), [o.reason for o in outcomes]
    return {"paths": paths, "before": before, "after_late": after_late,
            "reader": json.loads(out)}


def test_reader_in_another_process_keeps_the_old_state_while_a_run_publishes(
    published: dict,
) -> None:
    reader = published["reader"]
    assert reader["errors"] == []
    assert reader["polls"] > 20  # it kept querying throughout the run
    # revision 1 of week 1, two units: the only state the held connection ever saw
    assert published["before"] == (1, 2)
    assert [tuple(s) for s in reader["states"]] == [published["before"]]
    # a fresh connection sees revision 2
    assert published["after_late"] == (2, 2)


@pytest.fixture(scope="session")
def duckdb_14(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a throw-away venv with DuckDB 1.4 (what BI drivers bundle), once a session."""
    uv = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(uv).exists():
        pytest.skip("uv is not installed: cannot build a DuckDB 1.4 environment")
    venv = tmp_path_factory.mktemp("duckdb14") / "venv"
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    created = subprocess.run([uv, "venv", "--quiet", "--python", "3.11", str(venv)],
                             capture_output=True, text=True, env=env)
    python = venv / "bin" / "python"
    installed = created.returncode == 0 and subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), "duckdb==1.4.*"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    if not installed or installed.returncode != 0:
        reason = (installed.stderr if installed else created.stderr).strip()[-500:]
        pytest.skip(f"cannot install duckdb==1.4.* into a throw-away venv (PyPI?): {reason}")
    return python


OLD_READER = textwrap.dedent("""
    import json, sys
    import duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    views = [r[0] for r in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts' "
        "AND view_name LIKE '%\\\\_current' ESCAPE '\\\\' ORDER BY 1").fetchall()]
    counts = {v: con.execute(f'SELECT count(*) FROM marts."{v}"').fetchone()[0] for v in views}
    comment = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = 'marts' "
        "AND table_name = 'rating_people_weekly'").fetchone()[0]
    print(json.dumps({"version": duckdb.__version__, "counts": counts, "comment": comment}))
""")


def test_duckdb_14_opens_the_file_and_reads_every_current_view(
    published: dict, duckdb_14: Path
) -> None:
    done = subprocess.run(
        [str(duckdb_14), "-c", OLD_READER, str(published["paths"].published_file)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["version"].startswith("1.4."), result["version"]
    with duckdb.connect(str(published["paths"].published_file), read_only=True) as con:
        expected = {}
        for (view,) in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts' "
            "AND view_name LIKE '%\\_current' ESCAPE '\\'"
        ).fetchall():
            expected[view] = con.execute(f'SELECT count(*) FROM marts."{view}"').fetchone()[0]
    assert set(result["counts"]) >= WEEKLY_CURRENT
    assert result["counts"] == expected
    assert result["counts"]["rating_people_weekly_current"] == 4  # 2 weeks × 2 units
    assert result["comment"]  # comments survive the v1.4 storage format


def _description(model: str) -> dict:
    doc = yaml.safe_load((ROOT / "dbt_project" / "models" / "marts" / f"{model}.yml").read_text())
    return doc["models"][0]


def test_tables_views_and_columns_carry_the_dbt_descriptions(published: dict) -> None:
    table, view = _description("rating_people_weekly"), _description("rating_people_weekly_current")
    column = next(c for c in table["columns"] if c["name"] == "period_start")
    with duckdb.connect(str(published["paths"].published_file), read_only=True) as con:
        table_comment = con.execute(
            "SELECT comment FROM duckdb_tables() WHERE schema_name = 'marts' "
            "AND table_name = 'rating_people_weekly'").fetchone()[0]
        view_comment = con.execute(
            "SELECT comment FROM duckdb_views() WHERE schema_name = 'marts' "
            "AND view_name = 'rating_people_weekly_current'").fetchone()[0]
        column_comment = con.execute(
            "SELECT comment FROM duckdb_columns() WHERE schema_name = 'marts' "
            "AND table_name = 'rating_people_weekly' AND column_name = 'period_start'"
        ).fetchone()[0]
        described = con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'marts' "
            "AND table_name = 'rating_people_weekly' AND comment IS NOT NULL").fetchone()[0]
    assert table_comment.strip() == table["description"].strip()
    assert view_comment.strip() == view["description"].strip()
    assert column_comment.strip() == column["description"].strip()
    assert described == len(table["columns"])


def test_rating_histories_are_written_as_parquet_partitioned_by_period(published: dict) -> None:
    paths = published["paths"]
    out = paths.publish_dir / "parquet"
    with duckdb.connect(str(paths.published_file), read_only=True) as con:
        tables = history_tables(con)
        assert {"rating_people_weekly", "rating_region_pages_weekly",
                "rating_district_pages_weekly", "rating_insta_akims_weekly",
                "rating_people_weekly_exclusions"} <= set(tables)
        # only the finished folders: no temporary or old ones are left behind
        assert sorted(p.name for p in out.iterdir()) == sorted(tables)
        for table in tables:
            periods = [row[0] for row in con.execute(
                f"SELECT DISTINCT period_start FROM marts.{table} ORDER BY 1").fetchall()]
            folder = out / table
            assert sorted(p.name for p in folder.iterdir()) == [
                f"period_start={p.isoformat()}" for p in periods], table
            if not periods:
                continue
            columns = ", ".join(f'"{r[0]}"' for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                "AND table_name = ? ORDER BY column_index", [table]).fetchall())
            in_duckdb = con.execute(f"SELECT {columns} FROM marts.{table} ORDER BY ALL").fetchall()
            in_parquet = con.execute(
                f"SELECT {columns} FROM read_parquet('{folder}/*/*.parquet', "
                "hive_partitioning = true) ORDER BY ALL").fetchall()
            assert in_parquet == in_duckdb, table
    assert periods_of(out / "rating_people_weekly") == {WEEK1, WEEK2}
    # every revision is there: week 1 has revisions 1 and 2
    with duckdb.connect() as con:
        revisions = con.execute(
            f"SELECT DISTINCT period_start, revision FROM read_parquet("
            f"'{out / 'rating_people_weekly'}/*/*.parquet') ORDER BY ALL").fetchall()
    assert revisions == [(WEEK1, 1), (WEEK1, 2), (WEEK2, 1)]


def periods_of(folder: Path) -> set[date]:
    return {date.fromisoformat(p.name.split("=", 1)[1]) for p in folder.iterdir()}


def test_dbt_docs_are_published_next_to_the_data_without_the_pseudonym_key(
    published: dict,
) -> None:
    page = published["paths"].docs_dir / "dbt" / "index.html"
    text = page.read_text(encoding="utf-8")
    assert "rating_people_weekly_current" in text and "rating_explanations" in text
    assert os.environ["GOVPULSE_PSEUDONYM_KEY"] not in text
    # rebuilt only when the project or the catalog changes: cached by their fingerprint
    from govpulse.publish.dbt_docs import cache_dir, fingerprint

    cached = cache_dir() / "dbt-docs" / f"{fingerprint(published['paths'].warehouse)}.html"
    assert cached.read_text(encoding="utf-8") == text


def test_data_docs_of_the_last_run_are_published(published: dict) -> None:
    index = published["paths"].docs_dir / "gx" / "index.html"
    text = index.read_text(encoding="utf-8")
    assert "people_ranked" in text and "raw_mentions" in text
