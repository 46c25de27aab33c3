-- Mentions of the week: the latest loaded copy of each (platform, mention_id), kept when that
-- copy was published within the week. Only identities seen in the week are deduplicated.
with mentions as (
    select * from {{ ref('int_mentions_unioned') }}
),

week_identities as (
    select distinct platform, mention_id
    from mentions
    where {{ in_period('published_at') }}
),

latest as (
    select mentions.*
    from mentions
    semi join week_identities using (platform, mention_id)
    qualify {{ latest_loaded('platform, mention_id') }}
)

select * from latest
where {{ in_period('published_at') }}
