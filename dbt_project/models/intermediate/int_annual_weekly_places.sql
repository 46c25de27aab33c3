-- Final places of the year's published weeks (latest revision of each week) of every weekly
-- rating: the input of the annual table (METHODOLOGY §7). A week belongs to the year its
-- period_start falls in.
{{ config(tags=['annual']) }}

{% set weekly = {
    'people': 'rating_people_weekly_current',
    'region_pages': 'rating_region_pages_weekly_current',
    'district_pages': 'rating_district_pages_weekly_current',
    'insta_akims': 'rating_insta_akims_weekly_current',
} %}

{% for rating, model in weekly.items() %}
select
    '{{ rating }}' as rating,
    period_start as week_start,
    unit_id,
    unit_name,
    unit_name_kk,
    final_place
from {{ ref(model) }}
where period_start >= {{ period_start() }} and period_start < {{ period_end() }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
