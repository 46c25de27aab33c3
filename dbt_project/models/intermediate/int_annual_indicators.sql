-- Annual indicators of every unit of every weekly rating in the year: A1 mean weekly final
-- place, A2 the expert commission's score where the registry has one (METHODOLOGY §7).
{{ config(tags=['annual']) }}

with weekly as (
    select * from {{ ref('int_annual_weekly_places') }}
),

per_unit as (
    select
        rating,
        unit_id,
        -- the unit's name in its latest week of the year
        max_by(unit_name, week_start) as unit_name,
        max_by(unit_name_kk, week_start) as unit_name_kk,
        count(*) as weeks_rated,
        avg(final_place) as mean_place
    from weekly
    group by rating, unit_id
),

experts as (
    select rating, unit_id, score
    from {{ ref('stg_registry__expert_scores') }}
    where year = year({{ period_start() }})
)

select
    {{ rating_row_header() }},
    year({{ period_start() }})::INTEGER as year,
    per_unit.rating,
    per_unit.unit_id,
    per_unit.unit_name,
    per_unit.unit_name_kk,
    per_unit.weeks_rated::BIGINT as weeks_rated,
    {{ rounded('per_unit.mean_place') }} as mean_weekly_place,
    {{ rounded('experts.score') }} as expert_score
from per_unit
left join experts using (rating, unit_id)
