-- Incident-response indicators E1–E4 and the reported figures of every body rated this month:
-- active in the registry and with at least incident_min_count incidents (METHODOLOGY §5).
{{ config(tags=['monthly']) }}

with incidents as (
    select * from {{ ref('int_incidents_month') }}
    where body_active
),

per_body as (
    select
        body_id,
        any_value(body_name) as body_name,
        any_value(body_name_kk) as body_name_kk,
        any_value(body_group) as body_group,
        count(*) as incidents,
        count(first_response_at) as answered,
        count(*) filter (where is_overdue) as overdue,
        avg(response_minutes) as mean_response_minutes,
        count(resolved_at) as resolved_count,
        count(*) filter (where resolved_at is not null and satisfaction = 'satisfied') as satisfied,
        count(*) filter (where resolved_at is not null and satisfaction is not null)
            as with_feedback,
        avg(answer_quality) as mean_answer_quality
    from incidents
    group by body_id
)

select
    {{ rating_row_header() }},
    body_id as unit_id,
    body_name as unit_name,
    body_name_kk as unit_name_kk,
    body_group,
    incidents::BIGINT as incidents,
    {{ rounded('answered / incidents * 100') }} as answered_pct,
    {{ rounded('overdue / incidents * 100') }} as overdue_pct,
    {{ rounded('mean_response_minutes') }} as avg_response_minutes,
    resolved_count::BIGINT as resolved_count,
    {{ rounded('satisfied / nullif(with_feedback, 0) * 100') }} as resolved_satisfied_pct,
    {{ rounded('mean_answer_quality') }} as answer_quality_avg
from per_body
where incidents >= {{ param('incident_min_count') }}
