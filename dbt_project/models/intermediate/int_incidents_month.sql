-- Incidents of the month (METHODOLOGY §5): the latest loaded copy of each incident_id, kept when
-- that copy was detected within the month, with its responsible body as of the month.
{{ config(tags=['monthly']) }}

with incidents as (
    select * from {{ ref('stg_inbox__incidents') }}
),

month_identities as (
    select distinct incident_id
    from incidents
    where {{ in_period('detected_at') }}
),

latest as (
    select incidents.*
    from incidents
    semi join month_identities using (incident_id)
    qualify {{ latest_loaded('incident_id') }}
),

bodies as (
    select entity_id as body_id, name_ru, name_kk, body_group
    from {{ ref('int_entities_active') }}
),

-- a body closed before the month keeps its group in the reported figures
registry_groups as (
    select
        entity_id as body_id,
        max_by(body_group, coalesce(valid_from, DATE '0001-01-01')) as body_group
    from {{ ref('stg_registry__entities') }}
    group by entity_id
),

of_month as (
    select
        latest.incident_id,
        latest.body_id,
        bodies.body_id is not null as body_active,
        bodies.name_ru as body_name,
        bodies.name_kk as body_name_kk,
        coalesce(bodies.body_group, registry_groups.body_group, 'municipal') as body_group,
        latest.municipality_id,
        latest.category,
        latest.platform,
        latest.detected_at,
        latest.first_response_at,
        latest.resolved_at,
        latest.answer_quality,
        latest.satisfaction,
        -- fractional minutes from detection to the first response (NULL without one)
        (epoch(latest.first_response_at) - epoch(latest.detected_at)) / 60.0 as response_minutes
    from latest
    left join bodies using (body_id)
    left join registry_groups using (body_id)
    where {{ in_period('latest.detected_at') }}
)

select
    *,
    -- overdue: no response, or one later than the deadline after detection
    response_minutes is null
        or response_minutes > {{ param('response_deadline_hours') }} * 60 as is_overdue
from of_month
