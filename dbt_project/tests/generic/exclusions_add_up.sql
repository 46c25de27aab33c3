{#
  The exclusion steps of the people rating add up (one row per step): delivered minus the four
  exclusions before eligibility is eligible, eligible minus not_tied is tied, and a mention tied
  to two units counts for both (unit_mentions >= tied). Returns the groups that do not add up.
#}
{% test exclusions_add_up(model, group_by) %}
{%- set by = group_by | join(', ') -%}
with totals as (
    select {{ by }},
        sum(mentions) filter (where reason = 'delivered') as delivered,
        sum(mentions) filter (where reason in ('outside_week', 'not_person', 'excluded_source',
                                               'spam_author')) as excluded_before,
        sum(mentions) filter (where reason = 'eligible') as eligible,
        sum(mentions) filter (where reason = 'not_tied') as not_tied,
        sum(mentions) filter (where reason = 'tied') as tied,
        sum(mentions) filter (where reason = 'unit_mentions') as unit_mentions,
        count(*) as steps
    from {{ model }}
    group by {{ by }}
)
select * from totals
where steps <> 9
   or delivered - excluded_before is distinct from eligible
   or eligible - not_tied is distinct from tied
   or unit_mentions < tied
{% endtest %}
