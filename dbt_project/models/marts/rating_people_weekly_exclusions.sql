-- Why mentions did not count, for each published revision of rating_people_weekly: appended in
-- the run that publishes the revision (same period, same published_at), never rewritten.
{{ rating_history_config() }}
{%- set published_at = var('published_at') %}

with new_revision as (
    select distinct period_start, revision, methodology_version, published_at
    from {{ ref('rating_people_weekly') }}
    where period_start = {{ period_start() }}
    {%- if published_at %}
      and published_at = '{{ published_at }}'::TIMESTAMPTZ
    {%- endif %}
    qualify revision = max(revision) over ()
),

{% if is_incremental() %}
-- a retried dbt step must not explain the same revision twice
unexplained as (
    select * from new_revision
    anti join {{ this }} using (period_start, revision)
),
{% else %}
unexplained as (
    select * from new_revision
),
{% endif %}

counted as (
    select * from {{ ref('int_mentions_exclusions_counted') }}
)

select
    unexplained.period_start,
    counted.period_end,
    unexplained.revision,
    unexplained.methodology_version,
    unexplained.published_at,
    counted.step,
    counted.reason,
    counted.is_exclusion,
    counted.mentions
from unexplained
join counted using (period_start)
