{#
  Append the period's candidate rating to its history as revision n+1, with movement against
  the latest revision of the previous period, but only when something differs from the latest
  revision of this period (same inputs + same methodology = nothing new is published).
#}
{% macro append_revision(candidate_model, period_days=7) -%}
    {%- set candidate = ref(candidate_model) -%}
    {%- set content = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(candidate) -%}
            {%- do content.append(column.name) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- do content.append('movement') -%}
    {%- set published_at = var('published_at') -%}

    with candidate as (
        select * from {{ candidate }}
    ),
    {% if is_incremental() %}
    previous_period as (
        select unit_id, final_place from {{ this }}
        where period_start = {{ period_start() }} - {{ period_days }}
        qualify revision = max(revision) over ()
    ),
    latest as (
        select * from {{ this }}
        where period_start = {{ period_start() }}
        qualify revision = max(revision) over ()
    ),
    {% endif %}
    scored as (
        select c.*,
            {% if is_incremental() %}(p.final_place - c.final_place)::INTEGER
            {% else %}NULL::INTEGER{% endif %} as movement
        from candidate c
        {% if is_incremental() %}left join previous_period p using (unit_id){% endif %}
    ),
    decision as (
        select
            {% if is_incremental() %}
            (select coalesce(max(revision), 0) from {{ this }}
             where period_start = {{ period_start() }}) + 1 as next_revision,
            {{ content_fingerprint('scored', content) }}
                is distinct from {{ content_fingerprint('latest', content) }} as changed
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

{% macro content_fingerprint(relation, columns) -%}
    (select md5(string_agg(struct_pack(
        {%- for column in columns %}"{{ column }}" := r."{{ column }}"{{ ', ' if not loop.last }}{% endfor -%}
    )::VARCHAR, '|' order by r.unit_id)) from {{ relation }} r)
{%- endmacro %}

{# Config shared by every published rating history. #}
{% macro rating_history_config() -%}
    {{ config(materialized='incremental', incremental_strategy='append', full_refresh=false,
              on_schema_change='fail') }}
{%- endmacro %}
