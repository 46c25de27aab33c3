-- Fakes of the month (METHODOLOGY §8): the latest loaded copy of each fake_id, kept when that copy
-- was first seen within the month (local), with the hours to its refutation and the body's name.
-- No rows unless the run produces the fakes report (var fakes_report).
{{ config(tags=['monthly']) }}

with fakes as (
    select * from {{ ref('stg_inbox__fakes') }}
),

month_identities as (
    select distinct fake_id
    from fakes
    where {{ in_period('first_seen_at') }}
),

latest as (
    select fakes.*
    from fakes
    semi join month_identities using (fake_id)
    qualify {{ latest_loaded('fake_id') }}
),

-- the body's latest registry name: a fake may concern a body closed before the month
bodies as (
    select
        entity_id as body_id,
        max_by(name_ru, coalesce(valid_from, DATE '0001-01-01')) as body_name
    from {{ ref('stg_registry__entities') }}
    group by entity_id
)

select
    latest.fake_id,
    latest.claim,
    latest.first_seen_at,
    latest.platform,
    latest.url,
    latest.reach,
    latest.body_id,
    bodies.body_name,
    latest.refuted_at,
    latest.refutation_url,
    latest.refutation_reach,
    -- fractional hours from first seen to the refutation (NULL while unrefuted)
    (epoch(latest.refuted_at) - epoch(latest.first_seen_at)) / 3600.0 as hours_to_refutation
from latest
left join bodies using (body_id)
where {{ in_period('latest.first_seen_at') }} and {{ when_fakes_report() }}
