"""The rating catalogue (var `ratings` of dbt_project.yml, govpulse/ratings.py): a toy rating
declared only there, plus its own SQL of indicators, is ranked, tested, explained, validated and
exported by the code every rating shares, in a temporary copy of the dbt project.

Left out: Airflow (the DAGs build dbt selections by path, so a weekly model is picked up as it
is), the bulletin (its own per-rating table of stems is not catalogue-driven yet) and the
published-file copy (warehouse_file copies every table of marts whatever it is)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import yaml

from govpulse import methodology, ratings
from govpulse.settings import DBT_PROJECT_DIR
from govpulse.warehouse.schema import connect, ensure_schema
from ingestion.registry import load_registry
from tests.support import two_region_registry, write_files

ROOT = Path(__file__).resolve().parents[1]
TOY = {
    "title": "Игрушечный рейтинг",
    "candidate": "int_toy_ranked",
    "history": "rating_toy_weekly",
    "period": "week",
    "unit": {"rule": "registry", "entity_level": "region"},
    "indicators": [
        {"name": "posts", "better": "more", "label": "посты", "type": "whole",
         "required": True, "min": 0},
        {"name": "delay_hours", "better": "less", "label": "задержка, ч", "type": "double"},
    ],
}
# A: posts tie (place 1), slower (place 2) -> 3 points, place 2; B: 1 + 1 = 2, place 1
MODELS = {
    "models/intermediate/int_toy_indicators.sql": """
        select {{ rating_row_header() }}, unit_id, unit_name, null::VARCHAR as unit_name_kk,
               posts::BIGINT as posts, delay_hours::DOUBLE as delay_hours
        from (values ('A', 'Первая область', 3, 2.5), ('B', 'Вторая', 3, 1.0))
            as t (unit_id, unit_name, posts, delay_hours)
        """,
    "models/intermediate/int_toy_ranked.sql":
        "{{ rank_rating('toy', ref('int_toy_indicators')) }}\n",
    "models/intermediate/int_toy_ranked.yml": """
        version: 2
        models:
          - name: int_toy_ranked
            data_tests: [penalty_is_sum_of_places]
        """,
    "models/marts/rating_toy_weekly.sql":
        "{{ rating_history_config() }}\n{{ append_revision('int_toy_ranked') }}\n",
    "models/marts/rating_toy_weekly.yml": """
        version: 2
        models:
          - name: rating_toy_weekly
            data_tests: [penalty_is_sum_of_places]
        """,
    "models/marts/rating_toy_weekly_current.sql":
        "{{ config(materialized='view') }}\n{{ current_revision('rating_toy_weekly') }}\n",
}
SELECT = ["int_toy_indicators", "int_toy_ranked", "withdrawals", "methodology_weights",
          "rating_toy_weekly", "rating_toy_weekly_current", "rating_explanations",
          "rating_explanations_current"]

# The Python readers, in a fresh process pointed at the copied project (their module-level
# tables are built from the catalogue at import).
READERS = textwrap.dedent("""
    import json, sys
    from datetime import date
    from pathlib import Path
    import duckdb
    from govpulse import methodology, ratings
    ratings.DBT_PROJECT_FILE = methodology.DBT_PROJECT_FILE = Path(sys.argv[1])
    from govpulse.publish import parquet, report
    from govpulse.quality import suites
    from govpulse.quality.candidate_frames import candidate_job
    from govpulse.quality.gx_runner import run_jobs
    rating = suites.RATINGS["toy_ranked"]
    with duckdb.connect(sys.argv[2], read_only=True) as con:
        job = candidate_job(con, rating, date.fromisoformat(sys.argv[3]))
    result = run_jobs("candidates", "toy-run", date.fromisoformat(sys.argv[3]), [job])
    written = parquet.export_parquet(Path(sys.argv[2]), Path(sys.argv[4]))
    print(json.dumps({
        "suite": suites.SUITES["toy_ranked"]().name,
        "weekly": list(suites.WEEKLY_RATINGS),
        "failures": [f.expectation for f in result.failures()],
        "checked": len(result.results),
        "report": [r for r in report.RATINGS if r[0] == "rating_toy_weekly_current"],
        "label": report.LABELS["delay_hours"],
        "parquet": sorted(written),
        "shown": report.show(Path(sys.argv[2])),
    }, ensure_ascii=False))
""")


def _toy_project(tmp_path: Path) -> Path:
    """A copy of the dbt project with the toy rating declared in its catalogue and its models."""
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    config = yaml.safe_load((project / "dbt_project.yml").read_text(encoding="utf-8"))
    before = methodology.version(config["vars"]["methodology"])
    config["vars"]["ratings"]["toy"] = TOY
    # declaring a rating is not a methodology change: the version is unchanged
    assert methodology.version(config["vars"]["methodology"]) == before
    # its weights are (METHODOLOGY §0), as for every rating
    config["vars"]["methodology"]["weights"]["toy"] = {"posts": 1, "delay_hours": 1}
    (project / "dbt_project.yml").write_text(
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    write_files(project, {path: textwrap.dedent(text) for path, text in MODELS.items()})
    return project


def test_the_catalogue_is_not_a_methodology_parameter() -> None:
    params = methodology.parameters()
    assert "ratings" not in params
    assert set(ratings.catalogue()) == {"people", "region_pages", "district_pages",
                                        "insta_akims", "incidents", "annual"}
    # every rating's weight key names the weights of exactly its indicators
    for r in ratings.catalogue().values():
        assert set(params["weights"][r.weights]) == set(r.indicator_names), r.name


def test_a_rating_declared_in_the_catalogue_is_ranked_explained_validated_published(
    tmp_path: Path,
) -> None:
    project = _toy_project(tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as con:
        ensure_schema(con)
        load_registry(con, two_region_registry(tmp_path / "registry"))
    env = {**os.environ, "GOVPULSE_WAREHOUSE": str(warehouse), "DO_NOT_TRACK": "1",
           "GOVPULSE_PSEUDONYM_KEY": os.environ.get("GOVPULSE_PSEUDONYM_KEY", "toy-key")}
    period = "2026-11-13"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--select", *SELECT,
         "--exclude-resource-type", "unit_test",  # the project's own: test_dbt_project runs them
         "--vars", json.dumps({"period_start": period, "run_id": "toy-run"}),
         "--profiles-dir", str(project), "--project-dir", str(project),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        env=env, capture_output=True, text=True, check=False, cwd=project,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    # ranked (penalty tests and the explanation tests ran and passed within the build)
    assert "penalty_is_sum_of_places_int_toy_ranked" in result.stdout
    assert "penalty_is_sum_of_places_rating_toy_weekly" in result.stdout
    assert "explanation_adds_up" in result.stdout and "places_follow_better" in result.stdout
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ranked = con.execute(
            "SELECT unit_id, place_posts, place_delay_hours, penalty_points, final_place "
            "FROM intermediate.int_toy_ranked ORDER BY unit_id").fetchall()
        history = con.execute(
            "SELECT unit_id, revision, final_place FROM marts.rating_toy_weekly_current "
            "ORDER BY unit_id").fetchall()
        explained = con.execute(
            "SELECT unit_id, indicator_number, indicator, better, place, weight, points "
            "FROM marts.rating_explanations_current WHERE rating = 'toy' "
            "ORDER BY unit_id, indicator_number").fetchall()
    assert ranked == [("A", 1, 2, 3.0, 2), ("B", 1, 1, 2.0, 1)]
    assert history == [("A", 1, 2), ("B", 1, 1)]
    assert explained == [
        ("A", 1, "posts", "more", 1, 1.0, 1.0), ("A", 2, "delay_hours", "less", 2, 1.0, 2.0),
        ("B", 1, "posts", "more", 1, 1.0, 1.0), ("B", 2, "delay_hours", "less", 1, 1.0, 1.0),
    ]

    # validated, reported and exported by the Python readers of the same catalogue
    out = subprocess.run(
        [sys.executable, "-c", READERS, str(project / "dbt_project.yml"), str(warehouse),
         period, str(tmp_path / "parquet")],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    readers = json.loads(out.stdout.splitlines()[-1])
    assert readers["suite"] == "toy_ranked"
    assert "toy" in readers["weekly"]  # the annual table would summarise it
    assert readers["failures"] == [] and readers["checked"] > 10
    assert readers["report"] == [["rating_toy_weekly_current", "Игрушечный рейтинг",
                                  ["posts", "delay_hours"], "week", None]]
    assert readers["label"] == "задержка, ч"
    assert "rating_toy_weekly" in readers["parquet"]
    assert "Игрушечный рейтинг" in readers["shown"] and "задержка, ч" in readers["shown"]
    assert list((tmp_path / "parquet" / "rating_toy_weekly").glob(f"period_start={period}/*"))
    assert "toy" not in ratings.catalogue()  # the toy lives in its copy of the project only

