{#
  Append the period's candidate to its history as revision n+1, with movement against the
  latest revision of the previous period, but only when something differs from the latest
  revision of this period (same inputs + same methodology = nothing new is published).
  keys: the columns identifying a row within a period (unit_id; rating + unit_id for the annual
  table; scope for reported figures). with_movement: false for relations without places.
#}
{% macro append_revision(candidate_model, keys=['unit_id'], with_movement=true) -%}
    {%- set candidate = ref(candidate_model) -%}
    {%- set content = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(candidate) -%}
            {%- do content.append(column.name) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if with_movement %}{% do content.append('movement') %}{% endif -%}
    {%- set published_at = var('published_at') -%}

    with candidate as (
        select * from {{ candidate }}
    ),
    {% if is_incremental() %}
    {% if with_movement %}
    previous_period as (
        select {{ keys | join(', ') }}, final_place from {{ this }}
        where period_start = {{ previous_period_start() }}
        qualify revision = max(revision) over ()
    ),
    {% endif %}
    latest as (
        select * from {{ this }}
        where period_start = {{ period_start() }}
        qualify revision = max(revision) over ()
    ),
    {% endif %}
    scored as (
        select c.*
            {%- if with_movement %},
            {% if is_incremental() %}(p.final_place - c.final_place)::INTEGER
            {% else %}NULL::INTEGER{% endif %} as movement
            {%- endif %}
        from candidate c
        {% if is_incremental() and with_movement %}left join previous_period p using ({{ keys | join(', ') }}){% endif %}
    ),
    decision as (
        select
            {% if is_incremental() %}
            (select coalesce(max(revision), 0) from {{ this }}
             where period_start = {{ period_start() }}) + 1 as next_revision,
            {{ content_fingerprint('scored', content, keys) }}
                is distinct from {{ content_fingerprint('latest', content, keys) }} as changed
            {% else %}
            1 as next_revision, true as changed
            {% endif %}
    )
    select
        s.period_start,
        s.period_end,
        d.next_revision::INTEGER as revision,
        s.methodology_version,
        {% if published_at %}'{{ published_at }}'::TIMESTAMPTZ{% else %}now(){% endif %} as published_at,
        s.* exclude (period_start, period_end, methodology_version)
    from scored s
    cross join decision d
    where d.changed
{%- endmacro %}

{% macro content_fingerprint(relation, columns, keys=['unit_id']) -%}
    (select md5(string_agg(struct_pack(
        {%- for column in columns %}"{{ column }}" := r."{{ column }}"{{ ', ' if not loop.last }}{% endfor -%}
    )::VARCHAR, '|' order by {% for key in keys %}r."{{ key }}"{{ ', ' if not loop.last }}{% endfor %})) from {{ relation }} r)
{%- endmacro %}

{# Config shared by every published rating history. #}
{% macro rating_history_config(tags=[]) -%}
    {{ config(materialized='incremental', incremental_strategy='append', full_refresh=false,
              on_schema_change='fail', tags=tags) }}
{%- endmacro %}

{# The latest revision of each period of a history (the `_current` views). #}
{% macro current_revision(history_model) -%}
    select * from {{ ref(history_model) }}
    qualify revision = max(revision) over (partition by period_start)
{%- endmacro %}
