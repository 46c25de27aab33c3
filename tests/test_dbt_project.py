"""dbt's own unit tests (rules that are easy to get wrong) and data tests, run by real dbt on a
fresh DuckDB warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from govpulse.settings import DBT_PROJECT_DIR
from govpulse.warehouse.schema import connect, ensure_schema
from ingestion.registry import load_registry
from tests import hand_case
from tests.support import write_files


def test_dbt_build_runs_every_unit_and_data_test(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as con:
        ensure_schema(con)
        load_registry(con, write_files(tmp_path / "registry", hand_case.REGISTRY))
    env = {**os.environ, "GOVPULSE_WAREHOUSE": str(warehouse), "DO_NOT_TRACK": "1"}
    dbt = Path(sys.executable).parent / "dbt"
    # --empty builds every model with zero rows, so unit tests find their parents' columns
    result = subprocess.run(
        [str(dbt), "build", "--empty", "--profiles-dir", str(DBT_PROJECT_DIR),
         "--project-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs")],
        env=env, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    unit_tests = [line for line in result.stdout.splitlines() if "unit_test" in line.lower()
                  or "::test_" in line]
    assert any("PASS" in line for line in unit_tests), result.stdout[-2000:]
    assert "ERROR=0" in result.stdout


def test_unit_tests_cover_the_rules_that_are_easy_to_get_wrong() -> None:
    """The rules the methodology says are easy to get wrong each have a dbt unit test."""
    yaml_text = "\n".join(p.read_text(encoding="utf-8")
                          for p in (DBT_PROJECT_DIR / "models").rglob("*.yml"))
    for test_name in (
        "test_competition_ties_and_nulls_ranked_last",
        "test_week_boundaries_before_the_2024_switch_to_utc5",
        "test_week_boundaries_after_the_2024_switch_to_utc5",
        "test_mass_sharer_thresholds",
        "test_alias_matching_whole_words_yo_and_kazakh_letters",
        "test_latest_capture_within_grace",
        "test_snapshot_window_and_latest_loaded_capture",
        "test_bot_rule_and_latest_audit",
        "test_people_indicators_audience_and_zero_activity",
        "test_entities_active_validity_and_population_rule",
        "test_entities_active_mid_week_rename_takes_the_name_at_period_end",
        "test_entities_active_2022_regions_and_capital_name_in_2020",
        "test_entities_active_2022_regions_and_capital_name_after_the_switch",
        "test_latest_loaded_copy_wins",
        "test_exclusions_counted_once_under_the_first_failing_rule",
        "test_explanations_points_weights_and_null_values",
        "test_incident_indicators_and_the_two_incident_minimum",
        "test_body_groups_are_ranked_separately_with_ties",
        "test_latest_copy_decides_the_month_and_overdue",
        "test_annual_places_per_rating_and_optional_expert_score",
        "test_latest_copy_and_local_month_of_fakes",
        "test_fakes_figures",
        "test_month_without_fakes",
    ):
        assert f"name: {test_name}" in yaml_text
