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
    {%- set withdrawals = ref('withdrawals') -%}
    {%- set kind = run_kind() -%}

    with candidate as (
        select * from {{ candidate }}
    ),
    {% if is_incremental() %}
    {% if with_movement %}
    previous_period as (
        -- a withdrawn previous period is not a rating to move from
        select {{ keys | join(', ') }}, final_place from {{ this }} h
        where period_start = {{ previous_period_start() }}
          and {{ not_withdrawn(withdrawals, kind, 'h') }}
        qualify revision = max(revision) over ()
    ),
    {% endif %}
    latest as (
        select * from {{ this }}
        where period_start = {{ period_start() }}
        qualify revision = max(revision) over ()
    ),
    -- the period's withdrawal, if any: a run of the period publishes above it
    withdrawn as (
        select coalesce(max(revision), 0) as revision from {{ withdrawals }}
        where kind = '{{ kind }}' and period_start = {{ period_start() }}
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
            greatest((select coalesce(max(revision), 0) from {{ this }}
                      where period_start = {{ period_start() }}),
                     (select revision from withdrawn)) + 1 as next_revision,
            -- parenthesized: SQLFluff's parser ends a select target at IS DISTINCT FROM's `from`
            ({{ content_fingerprint('scored', content, keys) }}
                is distinct from {{ content_fingerprint('latest', content, keys) }}
                or (select revision from withdrawn)
                   > (select coalesce(max(revision), 0) from latest)) as changed
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

{# The latest revision of each period of a history (the `_current` views), unless the period's
   latest revision is a withdrawal (marts.withdrawals). #}
{% macro current_revision(history_model, kind='weekly') -%}
    select h.* from (
        select * from {{ ref(history_model) }}
        qualify revision = max(revision) over (partition by period_start)
    ) h
    where {{ not_withdrawn(ref('withdrawals'), kind, 'h') }}
{%- endmacro %}

{# True for a row of a history whose period has no withdrawal above that row's revision. #}
{% macro not_withdrawn(withdrawals, kind, alias) -%}
    not exists (select 1 from {{ withdrawals }} w
                where w.kind = '{{ kind }}' and w.period_start = {{ alias }}.period_start
                  and w.revision > {{ alias }}.revision)
{%- endmacro %}

{# The run kind (ops.runs.kind, marts.withdrawals.kind) of the period being run. #}
{% macro run_kind() -%}
    {%- set kinds = {'week': 'weekly', 'month': 'monthly', 'year': 'annual'} -%}
    {{ return(kinds[var('period_kind', 'week')]) }}
{%- endmacro %}
