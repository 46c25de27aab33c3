{#
  Reports published beside the ratings (METHODOLOGY §8): whether the run produces the fakes
  report, and the lists that share the revisions of their report's figures.
#}

{# The pipeline passes var fakes_report (true | false, govpulse.run.pipeline.dbt_vars): false
   leaves every fakes relation without rows. #}
{% macro fakes_report() -%}
    {{ return((var('fakes_report', false) | string | lower) in ['true', '1']) }}
{%- endmacro %}

{% macro when_fakes_report() -%}
    {{ 'true' if fakes_report() else 'false' }}
{%- endmacro %}

{#
  Append a list of a report (its rows may be none) under the revision its figures' history
  (`figures_model`, appended by append_revision) has for the period: once per new revision of the
  figures. The figures carry a fingerprint of the lists, so a changed list makes a new revision;
  a list that became empty adds no rows, and its `_current` view (current_list_revision) shows
  none for that revision.
#}
{% macro append_list_revision(candidate_model, figures_model) -%}
    with candidate as (
        select * from {{ ref(candidate_model) }}
    ),
    figures as (
        select revision, published_at from {{ ref(figures_model) }}
        where period_start = {{ period_start() }}
        qualify revision = max(revision) over ()
    )
    select
        c.period_start,
        c.period_end,
        f.revision,
        c.methodology_version,
        f.published_at,
        c.* exclude (period_start, period_end, methodology_version)
    from candidate c
    cross join figures f
    {% if is_incremental() %}
    where f.revision > (select coalesce(max(revision), 0) from {{ this }}
                        where period_start = {{ period_start() }})
    {% endif %}
{%- endmacro %}

{# The rows of a list at the latest revision of its figures' period, unless withdrawn. #}
{% macro current_list_revision(list_model, figures_model, kind='monthly') -%}
    select h.* from {{ ref(list_model) }} h
    semi join (
        select period_start, revision from {{ ref(figures_model) }}
        qualify revision = max(revision) over (partition by period_start)
    ) f using (period_start, revision)
    where {{ not_withdrawn(ref('withdrawals'), kind, 'h') }}
{%- endmacro %}
