"""Issue 14: a closed period whose rating inputs are empty for every unit is blocked at the
candidate validation, saying which inputs are missing; zeros of some units are not."""

from __future__ import annotations

import json
from pathlib import Path

from govpulse.quality import validation
from tests import test_validation as candidates
from tests.test_validation import MONTH, PERIOD, RUN, monthly, sql

# the hand-made candidate warehouse of test_validation, a fresh copy for each test
template, warehouse = candidates.template, candidates.warehouse


EMPTY = ("mentions = 0, engagement = 0, engagement_per_1k_pop = NULL, "
         "sentiment_audience_net = 0")


def inputs_check(report: validation.ValidationReport, suite: str) -> validation.ExpectationResult:
    (found,) = [r for r in report.results
                if r.suite == suite and r.expectation == validation.INPUTS_PRESENT]
    return found


def test_a_week_without_any_mention_is_blocked_saying_what_is_missing(warehouse: Path) -> None:
    sql(warehouse, f"UPDATE intermediate.int_people_ranked SET {EMPTY} "
                   f"WHERE period_start = '{PERIOD}'")
    report = validation.validate_candidates(warehouse, RUN, PERIOD)
    assert not report.success
    check = inputs_check(report, "people_ranked")
    assert (check.success, check.observed_value) == (False, (
        "people rating of week 2026-11-13: no mentions landed or tied to any region (0 of 2 "
        "regions have a mention); check that the inbox's mentions/ folder holds this week's "
        "export"))
    assert json.loads(check.details)["units"] == 2
    assert "check that the inbox's mentions/ folder holds this week's export" in report.summary()
    # the other ratings have inputs: only the people rating is blocked
    assert {r.suite for r in report.failures()} == {"people_ranked"}


def test_zeros_of_some_units_pass(warehouse: Path) -> None:
    # r-ast has zeros in every indicator (fixture), r-ala has mentions: a normal week
    report = validation.validate_candidates(warehouse, RUN, PERIOD)
    assert report.success, report.summary()
    assert inputs_check(report, "people_ranked").observed_value == "1 of 2 regions have a mention"


def test_pages_without_any_snapshot_or_post_are_blocked(warehouse: Path) -> None:
    sql(warehouse, "UPDATE intermediate.int_region_pages_ranked SET subscribers = NULL, "
                   "engagement = 0, er_subscribers_pct = NULL, engagement_per_1k_pop = 0")
    check = inputs_check(validation.validate_candidates(warehouse, RUN, PERIOD),
                         "region_pages_ranked")
    assert not check.success
    assert check.observed_value.startswith(
        "regional akimat pages rating of week 2026-11-13: no snapshot or post of any regional "
        "akimat page (0 of 2 pages have subscribers or engagement); check that the inbox's "
        "page_snapshots/ and page_posts/ folders")


def test_a_month_without_any_incident_is_blocked(warehouse: Path) -> None:
    sql(warehouse, "DELETE FROM intermediate.int_incidents_month")
    sql(warehouse, "DELETE FROM intermediate.int_incidents_ranked")
    check = inputs_check(monthly(warehouse), "incidents_ranked")
    assert (check.success, check.observed_value) == (False, (
        "incident rating of month 2026-11: no incidents landed for the month (0 incidents of "
        "2026-11); check that the inbox's incidents/ folder holds this month's export"))


def test_a_month_with_incidents_but_no_body_with_enough_is_not_blocked(warehouse: Path) -> None:
    sql(warehouse, f"DELETE FROM intermediate.int_incidents_month WHERE body_id <> 'b-one' "
                   f"OR detected_at >= '{MONTH.replace(month=12)}'")
    sql(warehouse, "DELETE FROM intermediate.int_incidents_ranked")
    report = monthly(warehouse)
    check = inputs_check(report, "incidents_ranked")
    assert (check.success, check.observed_value) == (True, "1 incidents of 2026-11")
    assert report.success, report.summary()
