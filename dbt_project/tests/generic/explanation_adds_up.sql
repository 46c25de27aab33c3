{#
  An explanation adds up: the points of a unit's indicators sum to its published penalty
  points, every indicator of explained_ratings() is there, and every place has a weight.
#}
{% test explanation_adds_up(model) %}
select rating, period_start, revision, unit_group, unit_id,
       max(penalty_points) as penalty_points, sum(points) as points, count(*) as indicators,
       count(weight) as weighted
from {{ model }}
group by rating, period_start, revision, unit_group, unit_id
having abs(sum(points) - max(penalty_points)) > 1e-9
    or sum(points) is null
    or count(weight) <> count(*)
    or count(*) <> (case rating
        {%- for r in explained_ratings() %}
            when '{{ r.rating }}' then {{ r.indicators | length }}
        {%- endfor %}
        end)
{% endtest %}
