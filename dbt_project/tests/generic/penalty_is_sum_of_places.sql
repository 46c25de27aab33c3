{# penalty_points = Σ place_<indicator> × weight (METHODOLOGY §0). #}
{% test penalty_is_sum_of_places(model, rating, indicators) %}
{%- set weights = var('methodology')['weights'][rating] -%}
select unit_id, penalty_points
from {{ model }}
where abs(penalty_points - ({% for name in indicators -%}
    place_{{ name }} * {{ weights[name] }}{{ ' + ' if not loop.last }}
{%- endfor %})) > 1e-9
{% endtest %}
