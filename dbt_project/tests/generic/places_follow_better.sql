{#
  The direction (`better`) an explanation states is the one the places were ranked by: along
  the places of an indicator, values never get better, equal places hold equal values, and a
  NULL value never precedes a non-NULL one. Catches a wrong direction in explained_ratings().
#}
{% test places_follow_better(model) %}
with ordered as (
    select *,
        lag("value") over by_place as previous_value,
        lag(place) over by_place as previous_place
    from {{ model }}
    window by_place as (
        partition by rating, period_start, revision, unit_group, indicator
        order by place, "value" nulls last)
)
select rating, period_start, revision, unit_group, indicator, unit_id, place, "value",
       previous_place, previous_value
from ordered
where previous_place is not null
  and (
      (place = previous_place and "value" is distinct from previous_value)
      or (place > previous_place and previous_value is null)
      or (place > previous_place and "value" is not null
          and ((better = 'more' and "value" >= previous_value)
               or (better = 'less' and "value" <= previous_value)))
  )
{% endtest %}
