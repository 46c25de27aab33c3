{#
  Places, penalty points and final place (METHODOLOGY §0 "Places", "Penalty points").
  indicators: list of (name, better) with better in ('more', 'less'); rating: key of the weights.
#}

{% macro place(column, better) -%}
    {%- set rank_fn = {'competition': 'rank', 'dense': 'dense_rank'}[param('tie_rule')] -%}
    {{ rank_fn }}() OVER (ORDER BY {{ column }} {{ 'DESC' if better == 'more' else 'ASC' }} NULLS LAST)
{%- endmacro %}

{% macro ranked(relation, rating, indicators) -%}
    {%- set weights = param('weights')[rating] -%}
    {%- set rank_fn = {'competition': 'rank', 'dense': 'dense_rank'}[param('tie_rule')] -%}
    {%- set tiebreak = param('final_tiebreak') -%}
    {%- set names = indicators | map(attribute=0) | list -%}
    {%- if tiebreak != 'none' and tiebreak not in names -%}
        {{ exceptions.raise_compiler_error("final_tiebreak '" ~ tiebreak ~ "' is not an indicator of " ~ rating) }}
    {%- endif -%}
    with placed as (
        select *,
            {%- for name, better in indicators %}
            ({{ place(name, better) }})::INTEGER as place_{{ name }},
            {%- endfor %}
        from {{ relation }}
    ),
    scored as (
        select *,
            ({% for name, better in indicators -%}
                place_{{ name }} * {{ weights[name] }}{{ ' + ' if not loop.last }}
            {%- endfor %})::DOUBLE as penalty_points
        from placed
    )
    select *,
        ({{ rank_fn }}() OVER (ORDER BY penalty_points ASC
            {%- if tiebreak != 'none' %}, place_{{ tiebreak }} ASC{% endif %}))::INTEGER as final_place
    from scored
{%- endmacro %}
