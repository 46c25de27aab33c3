-- The month's fakes report figures (METHODOLOGY §8): one row whenever the run produces the report,
-- zeros and NULLs for a month without fakes.
{{ config(tags=['monthly']) }}

with figures as (
    -- an aggregate without GROUP BY has one row, also over no fakes
    select
        count(*) as fakes_found,
        count(refuted_at) as fakes_refuted,
        count(*) filter (where hours_to_refutation <= 24) as refuted_within_24h,
        median(hours_to_refutation) as median_hours,
        coalesce(sum(coalesce(reach, 0)), 0) as reach_fakes,
        coalesce(sum(coalesce(refutation_reach, 0)), 0) as reach_refutations
    from {{ ref('int_fakes_month') }}
),

-- the lists share the figures' revisions (macro append_list_revision): a changed list is a
-- changed report
lists as (
    select md5(
        coalesce((select string_agg(u::VARCHAR, '|' order by u.fake_id)
                  from {{ ref('int_fakes_unrefuted') }} as u), '')
        || '#'
        || coalesce((select string_agg(b::VARCHAR, '|' order by b.unit_id)
                     from {{ ref('int_fakes_by_body') }} as b), '')
    ) as lists_fingerprint
)

select
    {{ rating_row_header() }},
    figures.fakes_found::BIGINT as fakes_found,
    figures.fakes_refuted::BIGINT as fakes_refuted,
    {{ rounded('figures.fakes_refuted / nullif(figures.fakes_found, 0) * 100') }} as refuted_pct,
    {{ rounded('figures.median_hours') }} as median_hours_to_refutation,
    {{ rounded('figures.refuted_within_24h / nullif(figures.fakes_found, 0) * 100') }}
        as refuted_within_24h_pct,
    figures.reach_fakes::BIGINT as reach_fakes,
    figures.reach_refutations::BIGINT as reach_refutations,
    {{ rounded('figures.reach_refutations / nullif(figures.reach_fakes, 0)') }} as reach_ratio,
    lists.lists_fingerprint
from figures
cross join lists
where {{ when_fakes_report() }}
