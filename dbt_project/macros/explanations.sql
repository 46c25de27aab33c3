{#
  Explanations of the published ratings: "why is X in place N". A rating history turned into
  long form, one row per period × revision × unit × indicator, with the indicator's value,
  place, weight and its contribution (place × weight) to the unit's penalty points.

  Views over the history tables, so every revision (old ones included) is explained as it was
  published; the weights come from marts.methodology_weights by the row's methodology_version,
  so a revision computed under other weights is explained with its own.
#}

{#
  The explained ratings: every rating of the catalogue (var ratings, macros/ratings.sql), as
    model       the rating history mart (its `<model>` table, not the _current view)
    rating      the name in rating_explanations.rating
    indicators  (name, better) exactly as the candidate model ranks them (a data test checks
                every direction against the published places)
    group       optional: the column whose groups are ranked separately (body_group of the
                incident rating, rating of the annual table); carried as unit_group
    weights_key the key of methodology.weights
    kind        the run kind of its periods (weekly | monthly | annual)
  A rating whose history table does not exist yet (a monthly or annual rating in a warehouse
  that has only run weeks) is left out until its first run has created it.
#}
{% macro explained_ratings() -%}
    {%- set out = [] -%}
    {%- for r in rating_catalogue() -%}
        {%- do out.append({'model': r.history, 'rating': r.name, 'indicators': indicator_pairs(r),
                           'group': r.group, 'weights_key': r.weights,
                           'kind': run_kind_of(r.period)}) -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{# Every explained rating, one after the other; current=true keeps the latest revisions only. #}
{% macro rating_explanations(current=false) -%}
    {%- set ratings = [] -%}
    {%- for r in explained_ratings() -%}
        {%- if history_exists(ref(r.model)) %}{% do ratings.append(r) %}{% endif -%}
    {%- endfor -%}
    {%- for r in ratings %}
    {% if not loop.first %}union all{% endif %}
    select * from (
        {{ rating_explanation(r.model, r.rating, r.indicators, weights_key=r.get('weights_key'),
                              group_column=r.get('group'), current=current,
                              kind=r.get('kind', 'weekly')) }}
    )
    {%- endfor %}
{%- endmacro %}

{# At parse time every ref counts (dbt learns the dependencies); in a unit test refs are
   fixtures. #}
{% macro history_exists(relation) -%}
    {%- if not execute or relation.identifier.startswith('__dbt__cte__') -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return(load_relation(relation) is not none) }}
{%- endmacro %}

{#
  One rating history in long form. The indicator columns are unpivoted as (value, place) pairs
  with INCLUDE NULLS: a NULL value still has a place (it ranks last) and must be explained.
#}
{% macro rating_explanation(model, rating, indicators, weights_key=none, group_column=none,
                            current=false, kind='weekly') -%}
    {%- set weights_key = weights_key or rating -%}
    {%- set group_expression = ('"' ~ group_column ~ '"::VARCHAR') if group_column
                               else 'NULL::VARCHAR' -%}
    with history as (
        {%- if current %}
        -- the latest revision of each period, as the mart's _current view has it (a withdrawn
        -- period left out)
        {{ current_revision(model, kind=kind) }}
        {%- else %}
        select * from {{ ref(model) }}
        {%- endif %}
    ),

    wide as (
        select
            period_start,
            period_end,
            revision,
            methodology_version,
            published_at,
            {{ group_expression }} as unit_group,
            unit_id,
            unit_name,
            penalty_points::DOUBLE as penalty_points,
            final_place::INTEGER as final_place,
            {%- for name, better in indicators %}
            "{{ name }}"::DOUBLE as "value__{{ name }}",
            "place_{{ name }}"::INTEGER as "place__{{ name }}"{{ ',' if not loop.last }}
            {%- endfor %}
        from history
    ),

    long as (
        select * from wide
        unpivot include nulls (("value", place) for indicator in (
            {%- for name, better in indicators %}
            ("value__{{ name }}", "place__{{ name }}") as "{{ name }}"{{ ',' if not loop.last }}
            {%- endfor %}
        ))
    ),

    indicators as (
        select * from (values
            {%- for name, better in indicators %}
            ({{ loop.index }}, '{{ name }}', '{{ better }}'){{ ',' if not loop.last }}
            {%- endfor %}
        ) as indicators (indicator_number, indicator, better)
    ),

    weights as (
        select methodology_version, indicator, weight
        from {{ ref('methodology_weights') }}
        where rating = '{{ weights_key }}'
    ),

    explained as (
        select
            long.*,
            indicators.indicator_number,
            indicators.better,
            weights.weight,
            -- an indicator left unranked (the annual expert score without scores) adds nothing
            coalesce(long.place, 0) * weights.weight as points,
            -- "place N of M": units ranked in the same period, revision and group
            count(*) over (partition by long.period_start, long.revision, long.unit_group,
                                        long.indicator)::INTEGER as units_rated
        from long
        join indicators using (indicator)
        left join weights
          on weights.methodology_version = long.methodology_version
         and weights.indicator = long.indicator
    )

    select
        '{{ rating }}' as rating,
        period_start,
        period_end,
        revision,
        methodology_version,
        published_at,
        unit_group,
        unit_id,
        unit_name,
        indicator_number::INTEGER as indicator_number,
        indicator,
        "value",
        better,
        place,
        units_rated,
        weight,
        points,
        penalty_points,
        final_place,
        points / nullif(penalty_points, 0) as share_of_penalty
    from explained
{%- endmacro %}
