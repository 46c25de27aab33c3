-- The indicator weights of every methodology version the warehouse has run, so that an older
-- revision is explained with the weights it was computed with (appended once per version).
{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false,
          on_schema_change='fail') }}
{%- set published_at = var('published_at') %}

with weights as (
    select * from (values
        {%- for rating, indicators in param('weights') | dictsort %}
        {%- set outer_last = loop.last %}
        {%- for indicator, weight in indicators | dictsort %}
        ('{{ rating }}', '{{ indicator }}', {{ weight }}){{ ',' if not (outer_last and loop.last) }}
        {%- endfor %}
        {%- endfor %}
    -- AL05 cannot see that this alias names the VALUES columns
    ) as weights (rating, indicator, weight)  -- noqa: AL05
)

select
    {{ methodology_version() }} as methodology_version,
    rating,
    indicator,
    weight::DOUBLE as weight,
    {% if published_at %}'{{ published_at }}'::TIMESTAMPTZ{% else %}now(){% endif %} as recorded_at
from weights
{% if is_incremental() %}
where {{ methodology_version() }} not in (select methodology_version from {{ this }})
{% endif %}
