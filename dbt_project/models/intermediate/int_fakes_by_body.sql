-- Fakes of the month per body they concern (METHODOLOGY §8 "also per body where given").
{{ config(tags=['monthly']) }}

select
    {{ rating_row_header() }},
    body_id as unit_id,
    any_value(body_name) as unit_name,
    count(*)::BIGINT as fakes_found,
    {{ rounded('median(hours_to_refutation)') }} as median_hours_to_refutation
from {{ ref('int_fakes_month') }}
where body_id is not null
group by body_id
