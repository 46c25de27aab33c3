-- Final places of the year's published weeks (latest revision of each week) of every weekly
-- rating: the input of the annual table (METHODOLOGY §7). A week belongs to the year its
-- period_start falls in.
{{ config(tags=['annual']) }}

{#- every weekly rating of the catalogue (var ratings) -#}
{% set weekly = {} %}
{% for r in rating_catalogue() if r.period == 'week' %}
    {%- do weekly.update({r.name: r.history ~ '_current'}) -%}
{% endfor %}

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
