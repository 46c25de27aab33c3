{#
  penalty_points = Σ place_<indicator> × weight (METHODOLOGY §0). The rating and its indicators
  come from the catalogue (var ratings) by the tested model, its candidate or its history;
  `rating` names it explicitly for a model the catalogue does not name.
#}
{% test penalty_is_sum_of_places(model, rating=none) %}
{%- if not execute -%}
{#- at parse time `model` is not yet the tested relation: nothing to look up -#}
select null as unit_id, null as penalty_points where false
{%- else -%}
{%- set r = catalogued_rating(rating) if rating else rating_of_relation(model) -%}
{%- if r is none -%}
    {{ exceptions.raise_compiler_error("penalty_is_sum_of_places: " ~ model.identifier ~ " is no rating's candidate or history in the catalogue") }}
{%- endif -%}
{%- set weights = var('methodology')['weights'][r.weights] -%}
select unit_id, penalty_points
from {{ model }}
where abs(penalty_points - ({% for i in r.indicators -%}
    place_{{ i.name }} * {{ weights[i.name] }}{{ ' + ' if not loop.last }}
{%- endfor %})) > 1e-9
{%- endif %}
{% endtest %}
