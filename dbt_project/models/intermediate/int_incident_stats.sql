-- Reported figures of the month's incidents (METHODOLOGY §5 "also reported"): for all incidents
-- and for each body group — volume, answered %, overdue %, overall satisfaction, and the top
-- categories and municipalities by volume.
{{ config(tags=['monthly']) }}

{% set top_n = param('report_top_n') %}

with incidents as (
    select *, 'all' as scope from {{ ref('int_incidents_month') }}
    union all by name
    select *, body_group as scope from {{ ref('int_incidents_month') }}
),

places as (
    select entity_id, name_ru from {{ ref('int_entities_active') }}
),

figures as (
    select
        scope,
        count(*) as incidents,
        count(first_response_at) as answered,
        count(*) filter (where is_overdue) as overdue,
        count(resolved_at) as resolved,
        count(*) filter (where satisfaction = 'satisfied') as satisfied,
        count(satisfaction) as with_feedback,
        count(distinct body_id) as bodies
    from incidents
    group by scope
),

categories as (
    select scope, coalesce(category, 'без категории') as name, count(*) as n
    from incidents
    group by all
),

municipalities as (
    select scope, coalesce(places.name_ru, incidents.municipality_id, 'не указано') as name,
           count(*) as n
    from incidents
    left join places on incidents.municipality_id = places.entity_id
    group by all
),

top_lists as (
    select 'categories' as list, scope, name, n from categories
    union all
    select 'municipalities' as list, scope, name, n from municipalities
),

tops as (
    select
        scope,
        string_agg(name || ' (' || n || ')', '; ' order by n desc, name asc)
            filter (where list = 'categories' and rank_in_list <= {{ top_n }}) as top_categories,
        string_agg(name || ' (' || n || ')', '; ' order by n desc, name asc)
            filter (where list = 'municipalities' and rank_in_list <= {{ top_n }})
            as top_municipalities
    from (
        select
            *,
            row_number() over (partition by list, scope order by n desc, name asc) as rank_in_list
        from top_lists
    ) as ranked
    group by scope
)

select
    {{ rating_row_header() }},
    figures.scope,
    figures.incidents::BIGINT as incidents,
    figures.bodies::BIGINT as bodies,
    {{ rounded('answered / incidents * 100') }} as answered_pct,
    {{ rounded('overdue / incidents * 100') }} as overdue_pct,
    {{ rounded('resolved / incidents * 100') }} as resolved_pct,
    {{ rounded('satisfied / nullif(with_feedback, 0) * 100') }} as satisfaction_pct,
    tops.top_categories,
    tops.top_municipalities
from figures
join tops using (scope)
