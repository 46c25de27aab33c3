"""The frames of the candidate ratings (DuckDB) a run validates before publishing.

Per rating: the table's schema, its rows of the period (one per unit, or per (group, unit) of
a grouped rating), and one row per unit of "expected units ∪ candidate units" with
`missing` / `unexpected` / `penalty_mismatch` / `period_mismatch` flags (the weights come
from `govpulse.methodology`; the expected units from `expected_units`).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import duckdb

from govpulse import methodology
from govpulse.quality import suites as vs
from govpulse.quality.expected_units import expected_units_sql
from govpulse.quality.jobs import Frame, Job, failed, schema_frames, table_types
from govpulse.quality.report import (
    INPUTS_PRESENT,
    TABLE_EXISTS,
    WEIGHTS_CONFIGURED,
    ExpectationResult,
)
from govpulse.territory import DEFAULT_TIMEZONE
from govpulse.warehouse.sql import first_row, ident

PENALTY_TOLERANCE = 1e-9  # relative, penalty_points vs Σ place × weight


def candidate_job(con: duckdb.DuckDBPyConnection, rating: vs.Rating, period_start: date,
                  timezone: str | None = None) -> Job:
    """The rating's frames of the period starting `period_start`: schema, rows, units.
    `timezone`: the territory's (its months are cut at its midnights); default the
    methodology's."""
    timezone = timezone or methodology.parameters().get("timezone", DEFAULT_TIMEZONE)
    suite = rating.suite
    types = table_types(con, rating.table)
    if types is None:
        return failed(
            suite,
            TABLE_EXISTS,
            f"candidate table {rating.table} does not exist",
            {"table": rating.table},
        )
    # a rating without configured weights cannot be checked (nor computed by dbt)
    weights = methodology.parameters().get("weights", {}).get(rating.weights)
    if not weights:
        return failed(
            suite,
            WEIGHTS_CONFIGURED,
            f"no weights for rating {rating.key!r} in dbt_project.yml vars.methodology.weights",
            {"rating": rating.key},
        )
    interval = vs.PERIOD_INTERVALS[rating.period]
    # DuckDB's date arithmetic, the same the dbt models and the period_mismatch flag use
    period_end = first_row(con.execute(f"SELECT (?::DATE + {interval})::DATE", [period_start]))[0]

    order = ", ".join(ident(c) for c in rating.unit_key if c in types) or "1"
    rows = con.execute(
        f"SELECT * FROM {rating.table} WHERE period_start = ? ORDER BY {order}", [period_start]
    ).df()
    units, params = _units_frame(con, rating, types, weights, period_start, period_end,
                                 timezone)

    # places run up to the size of the (largest) group; a rating with no units still needs 1
    unit_count = len(rows)
    if rating.group and rating.group in rows.columns and len(rows):
        unit_count = int(rows.groupby(rating.group, dropna=False).size().max())
    info: dict[str, Any] = {"period_end": period_end.isoformat()}
    if "incident_min_count" in params:
        info["incident_min_count"] = params["incident_min_count"]
    return Job(
        suite,
        frames={
            **schema_frames(types, rating.columns),
            vs.ROWS: Frame(rows),
            vs.UNITS: Frame(units, info),
        },
        parameters={vs.UNIT_COUNT: max(unit_count, 1)},
        index={
            vs.ROWS: rating.unit_key,
            vs.UNITS: (*rating.unit_key, "penalty_points", "expected_penalty_points"),
        },
        results=[_inputs_present(con, rating, types, period_start, period_end, timezone)],
    )


def _column(types: dict[str, str], name: str) -> str:
    """A column of the candidate table; one the table lacks is NULL here (the schema frame
    reports it)."""
    return ident(name) if name in types else "NULL"


def _unit_group(rating: vs.Rating, types: dict[str, str]) -> str:
    return f"{_column(types, rating.group)}::VARCHAR" if rating.group else "NULL::VARCHAR"


def _expected_penalty(rating: vs.Rating, types: dict[str, str],
                      weights: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Σ place × weight over the rating's indicators (METHODOLOGY §0), and the weights as
    parameters $w0, $w1, ..."""
    terms, params = [], {}
    for i, (indicator, weight) in enumerate(weights.items()):
        place = f"place_{indicator}"
        if place not in types:
            terms.append("NULL")
            continue
        term = f"TRY_CAST({ident(place)} AS DOUBLE) * $w{i}"
        if indicator in rating.optional_places:
            term = f"coalesce({term}, 0)"  # no place (no values in the group) adds nothing
        terms.append(term)
        params[f"w{i}"] = float(weight)
    return " + ".join(terms) or "NULL", params


def _period_flag(rating: vs.Rating) -> str:
    """0 when period_end = period_start + 1 period (and a month / year starts on its first
    day), else 1."""
    interval = vs.PERIOD_INTERVALS[rating.period]
    aligned = ""
    if rating.period != "week":
        aligned = f" AND period_start = date_trunc('{rating.period}', period_start)::DATE"
    return (
        f"CASE WHEN TRY_CAST(period_end AS DATE) = (period_start + {interval})::DATE{aligned} "
        "THEN 0 ELSE 1 END"
    )


def _group_flags(rating: vs.Rating, types: dict[str, str]) -> tuple[list[str], list[str]]:
    """Flags of grouped ratings / optional places: (columns of `cand`, computed over the
    candidate rows; columns of the units frame that carry them)."""
    over = f"OVER (PARTITION BY {_unit_group(rating, types)})" if rating.group else "OVER ()"
    cand_extra, units_extra = [], []
    if rating.group:
        places = [f"place_{c.name}" for c in rating.indicators] + ["final_place"]
        present = [f"TRY_CAST({ident(p)} AS BIGINT)" for p in places if p in types]
        max_place = f"greatest({', '.join(present)})" if present else "NULL"
        cand_extra += [f"count(*) {over} AS group_units", f"{max_place} AS max_place"]
        units_extra += [
            "CASE WHEN c.in_rating IS NULL OR c.max_place <= c.group_units THEN 0 ELSE 1 END "
            "AS place_beyond_group",
            "c.group_units",
            "c.max_place",
        ]
    if rating.optional_places:
        # the place is NULL exactly when no unit of the group has a value (§0: NULLs rank last)
        conditions = [
            f"(({_column(types, 'place_' + i)}) IS NULL) = (count({_column(types, i)}) {over} = 0)"
            for i in rating.optional_places
        ]
        cand_extra.append(
            f"CASE WHEN {' AND '.join(conditions)} THEN 0 ELSE 1 END AS place_null_mismatch"
        )
        units_extra.append("coalesce(c.place_null_mismatch, 0) AS place_null_mismatch")
    return cand_extra, units_extra


def _units_frame(con: duckdb.DuckDBPyConnection, rating: vs.Rating, types: dict[str, str],
                 weights: dict[str, Any], period_start: date,
                 period_end: date, timezone: str) -> tuple[Any, dict[str, Any]]:
    """One row per unit of `expected` (the units the rating must hold) FULL OUTER JOIN `cand`
    (the candidate's rows of the period, its penalty recomputed from its places), with the
    flags the units expectations check; and the query's parameters."""
    expected_sql, params = expected_units_sql(rating, timezone)
    expected_penalty, weight_params = _expected_penalty(rating, types, weights)
    params |= {"period_start": period_start, "period_end": period_end, **weight_params,
               "tolerance": PENALTY_TOLERANCE}
    penalty = "TRY_CAST(penalty_points AS DOUBLE)" if "penalty_points" in types else "NULL"
    cand_extra, units_extra = _group_flags(rating, types)
    group_out = ""
    if rating.group:
        group_out = f"coalesce(c.unit_group, e.unit_group) AS {ident(rating.group)}, "
    units = con.execute(
        f"""
        WITH expected AS (
            SELECT DISTINCT unit_group::VARCHAR AS unit_group, unit_id::VARCHAR AS unit_id,
                   TRUE AS is_expected
            FROM ({expected_sql})
        ),
        cand AS (
            SELECT {_unit_group(rating, types)} AS unit_group, unit_id::VARCHAR AS unit_id,
                   TRUE AS in_rating,
                   {penalty} AS penalty_points,
                   {expected_penalty} AS expected_penalty_points,
                   {_period_flag(rating)} AS period_mismatch
                   {"".join(", " + e for e in cand_extra)}
            FROM {rating.table} WHERE period_start = $period_start
        )
        SELECT {group_out}coalesce(c.unit_id, e.unit_id) AS unit_id,
               CASE WHEN e.is_expected AND c.in_rating IS NULL THEN 1 ELSE 0 END AS missing,
               CASE WHEN c.in_rating AND e.is_expected IS NULL THEN 1 ELSE 0 END AS unexpected,
               CASE WHEN c.in_rating IS NULL THEN 0
                    WHEN abs(c.penalty_points - c.expected_penalty_points)
                         <= $tolerance * greatest(1, abs(c.expected_penalty_points)) THEN 0
                    ELSE 1 END AS penalty_mismatch,
               c.penalty_points, c.expected_penalty_points,
               coalesce(c.period_mismatch, 0) AS period_mismatch
               {"".join(", " + e for e in units_extra)}
        FROM expected e FULL OUTER JOIN cand c
            ON e.unit_id = c.unit_id AND e.unit_group IS NOT DISTINCT FROM c.unit_group
        ORDER BY {"1 NULLS FIRST, " if rating.group else ""}unit_id NULLS FIRST
        """,
        params,
    ).df()
    return units, params


def _inputs_present(con: duckdb.DuckDBPyConnection, rating: vs.Rating, types: dict[str, str],
                    period_start: date, period_end: date, timezone: str) -> ExpectationResult:
    """A rating whose every unit has no input (every indicator 0 or NULL) rates nothing: the
    period's exports are missing (or not over). Zeros of some units are legitimate; a rating
    without units (none active in the registry) is not this check's business; a month
    without a body with enough incidents is legitimate unless it has no incidents at all."""
    empty = vs.EMPTY_INPUTS.get(rating.key)
    if empty is None:  # the annual table rates published weeks (start_run requires some)
        return ExpectationResult(rating.suite, INPUTS_PRESENT, None, True, "not applicable")
    some = " OR ".join(f"coalesce(TRY_CAST({ident(c.name)} AS DOUBLE), 0) <> 0"
                       for c in rating.indicators if c.name in types) or "FALSE"
    units, with_inputs = first_row(con.execute(
        f"SELECT count(*), count(*) FILTER ({some}) FROM {rating.table} WHERE period_start = ?",
        [period_start]))
    period = (f"week {period_start}" if rating.period == "week"
              else f"month {period_start:%Y-%m}")
    if rating.unit_rule == vs.INCIDENT_BODIES and not units:
        # no body rated: only a month with no incident at all is missing its input
        incidents = first_row(con.execute(
            "SELECT count(*) FROM intermediate.int_incidents_month "
            "WHERE timezone(?, detected_at) >= ?::TIMESTAMP "
            "AND timezone(?, detected_at) < ?::TIMESTAMP",
            [timezone, period_start, timezone, period_end]))[0]
        observed = f"{incidents} incidents of {period_start:%Y-%m}"
        blocked = not incidents
    else:
        observed = f"{with_inputs} of {units} {empty.units} have {empty.has}"
        blocked = units and not with_inputs
    if not blocked:
        return ExpectationResult(rating.suite, INPUTS_PRESENT, None, True, observed)
    message = (f"{empty.rating} of {period}: {empty.missing} ({observed}); "
               f"{empty.fix.format(period=rating.period)}")
    return ExpectationResult(
        rating.suite, INPUTS_PRESENT, None, False, message,
        json.dumps({"period_end": period_end.isoformat(), "units": units,
                    "units_with_inputs": with_inputs}), explanation=message)
