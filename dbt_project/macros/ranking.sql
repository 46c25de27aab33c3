{#
  Places, penalty points and final place (METHODOLOGY §0 "Places", "Penalty points").
  indicators: list of (name, better) with better in ('more', 'less'); rating: key of the weights.
  partition_by: a column whose groups are ranked separately (incident body groups, the ratings
  of the annual table). optional: indicators ranked only in a group where some unit has a value
  (the annual expert score "if present"); elsewhere their place is NULL and adds nothing.
#}

{% macro place(column, better, partition_by=none) -%}
    {%- set rank_fn = {'competition': 'rank', 'dense': 'dense_rank'}[param('tie_rule')] -%}
    {{ rank_fn }}() OVER ({% if partition_by %}PARTITION BY {{ partition_by }} {% endif -%}
        ORDER BY {{ column }} {{ 'DESC' if better == 'more' else 'ASC' }} NULLS LAST)
{%- endmacro %}

{% macro ranked(relation, rating, indicators, partition_by=none, optional=[]) -%}
    {%- set weights = param('weights')[rating] -%}
    {%- set rank_fn = {'competition': 'rank', 'dense': 'dense_rank'}[param('tie_rule')] -%}
    {%- set tiebreak = param('final_tiebreak') -%}
    {%- set names = indicators | map(attribute=0) | list -%}
    {%- set over_group = ('PARTITION BY ' ~ partition_by ~ ' ') if partition_by else '' -%}
    {%- set known = [] -%}
    {%- for r, w in param('weights').items() -%}{%- do known.extend(w.keys()) -%}{%- endfor -%}
    {%- if tiebreak != 'none' and tiebreak not in known -%}
        {{ exceptions.raise_compiler_error("final_tiebreak '" ~ tiebreak
                                           ~ "' is not an indicator of any rating") }}
    {%- endif -%}
    {#- the tie-break applies to the ratings that have that indicator -#}
    {%- set tiebreak = tiebreak if tiebreak in names else 'none' -%}
    with placed as (
        select *,
            {%- for name, better in indicators %}
            {%- if name in optional %}
            (case when count({{ name }}) over ({{ over_group }}) > 0
                  then {{ place(name, better, partition_by) }} end)::INTEGER as place_{{ name }},
            {%- else %}
            ({{ place(name, better, partition_by) }})::INTEGER as place_{{ name }},
            {%- endif %}
            {%- endfor %}
        from {{ relation }}
    ),
    scored as (
        select *,
            ({% for name, better in indicators -%}
                {%- if name in optional -%}coalesce(place_{{ name }} * {{ weights[name] }}, 0)
                {%- else -%}place_{{ name }} * {{ weights[name] }}{%- endif -%}
                {{ ' + ' if not loop.last }}
            {%- endfor %})::DOUBLE as penalty_points
        from placed
    )
    select *,
        ({{ rank_fn }}() OVER ({{ over_group }}ORDER BY penalty_points ASC
            {%- if tiebreak != 'none' %}, place_{{ tiebreak }} ASC NULLS LAST{% endif %}))::INTEGER as final_place
    from scored
{%- endmacro %}
