"""SQL of the units a candidate rating must hold in its period (its "expected units").

Each rating follows its rule (`suites.Rating.unit_rule`): registry units active in the
period, bodies active in the month with enough incidents, units of the year's published
weeks. The queries use the named parameters $period_start / $period_end and their own.
"""

from __future__ import annotations

from typing import Any

from govpulse import methodology
from govpulse.quality import suites as vs


def _active_units_sql(rating: vs.Rating) -> str:
    """Units of the rating active during the period (METHODOLOGY §0 Participation)."""
    entities = (
        "SELECT entity_id, level FROM registry.entities "
        "WHERE (valid_from IS NULL OR valid_from < $period_end) "
        "AND (valid_to IS NULL OR valid_to >= $period_start)"
    )
    if rating.entity_level is not None:
        return f"SELECT DISTINCT entity_id AS unit_id FROM ({entities}) WHERE level = $entity_level"
    platform = "AND p.platform = $page_platform " if rating.page_platform else ""
    return (
        f"SELECT DISTINCT p.page_id AS unit_id FROM registry.pages p "
        f"JOIN ({entities}) e ON e.entity_id = p.entity_id "
        f"WHERE p.page_kind = $page_kind {platform}"
        "AND (p.active_from IS NULL OR p.active_from < $period_end) "
        "AND (p.active_to IS NULL OR p.active_to >= $period_start)"
    )


def expected_units_sql(rating: vs.Rating, timezone: str) -> tuple[str, dict[str, Any]]:
    """SQL of the (unit_group, unit_id) the candidate of the period must hold (NULL unit_group
    for an ungrouped rating), and the parameters it needs beyond $period_start / $period_end."""
    if rating.unit_rule == vs.REGISTRY_UNITS:
        params: dict[str, Any] = {}
        if rating.entity_level is not None:
            params["entity_level"] = rating.entity_level
        else:
            params["page_kind"] = rating.page_kind
            if rating.page_platform:
                params["page_platform"] = rating.page_platform
        return f"SELECT NULL AS unit_group, unit_id FROM ({_active_units_sql(rating)})", params
    if rating.unit_rule == vs.INCIDENT_BODIES:
        parameters = methodology.parameters()
        return _incident_bodies_sql(), {
            "incident_min_count": int(parameters.get("incident_min_count", 2)),
            "timezone": timezone,  # the territory's: its months end at its midnight
        }
    if rating.unit_rule == vs.WEEKLY_MART_UNITS:
        return _weekly_mart_units_sql(), {}
    raise ValueError(f"{rating.suite}: unknown unit rule {rating.unit_rule!r}")


def _incident_bodies_sql() -> str:
    """Bodies of the monthly incident rating (METHODOLOGY §5): registry entities active in the
    month that received at least $incident_min_count incidents of the month, in their group."""
    # registry.entities may list an entity on several lines (name history): DISTINCT entity_id.
    # The month is filtered again in local time, so the check holds even if the intermediate
    # table ever keeps more than one month.
    return """
        WITH month AS (
            SELECT body_id, coalesce(nullif(trim(body_group), ''), 'municipal') AS body_group,
                   incident_id
            FROM intermediate.int_incidents_month
            WHERE timezone($timezone, detected_at) >= $period_start::TIMESTAMP
              AND timezone($timezone, detected_at) < $period_end::TIMESTAMP
        ),
        enough AS (
            SELECT body_id FROM month GROUP BY body_id
            HAVING count(DISTINCT incident_id) >= $incident_min_count
        ),
        active AS (
            SELECT DISTINCT entity_id FROM registry.entities
            WHERE (valid_from IS NULL OR valid_from < $period_end)
              AND (valid_to IS NULL OR valid_to >= $period_start)
        )
        SELECT DISTINCT m.body_group AS unit_group, m.body_id AS unit_id
        FROM month m
        WHERE m.body_id IN (SELECT body_id FROM enough)
          AND m.body_id IN (SELECT entity_id FROM active)
    """


def _weekly_mart_units_sql() -> str:
    """Units of the annual table (METHODOLOGY §7): every (rating, unit) of a published week of
    the year (latest revisions: the weekly marts' current views)."""
    return " UNION ".join(
        f"SELECT '{key}' AS unit_group, unit_id FROM marts.rating_{key}_weekly_current "
        "WHERE period_start >= $period_start AND period_start < $period_end"
        for key in vs.WEEKLY_RATINGS
    )
