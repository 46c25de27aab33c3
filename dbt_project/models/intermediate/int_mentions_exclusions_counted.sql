-- How many mentions each rule of METHODOLOGY §1 removed from the week: every mention counted
-- once, under its first failing rule (§1 order), with the totals in between so the numbers add
-- up. Counts only: excluded mentions are never alias-matched (the costly step at national scale).
with unioned as materialized (
    select platform, mention_id, published_at, _load_id, _line
    from {{ ref('int_mentions_unioned') }}
),

-- the loads (files, API captures) that delivered at least one copy published in the week
week_loads as (
    select distinct _load_id
    from unioned
    where {{ in_period('published_at') }}
),

delivered_identities as (
    select distinct platform, mention_id
    from unioned
    semi join week_loads using (_load_id)
),

-- every mention those loads delivered, deduplicated over all its copies (latest loaded wins):
-- its winning copy decides whether it was published in the week
delivered as (
    select platform, mention_id, published_at
    from unioned
    semi join delivered_identities using (platform, mention_id)
    qualify {{ latest_loaded('platform, mention_id') }}
),

-- the week's deduplicated mentions, with the first of rules 2–4 that excludes them
classified as (
    select platform, mention_id, exclusion_reason
    from {{ ref('int_mentions_classified') }}
),

tied as (
    select platform, mention_id, count(*) as units
    from {{ ref('int_mentions_tied_to_regions') }}
    group by platform, mention_id
),

rule_counts as (
    select
        count(*) filter (where classified.exclusion_reason = 'not_a_person') as not_person,
        count(*) filter (where classified.exclusion_reason = 'excluded_source') as excluded_source,
        count(*) filter (where classified.exclusion_reason = 'mass_sharer') as spam_author,
        count(*) filter (where classified.exclusion_reason is null) as eligible,
        count(*) filter (where classified.exclusion_reason is null
                           and tied.mention_id is null) as not_tied,
        count(tied.mention_id) filter (where classified.exclusion_reason is null) as tied,
        coalesce(sum(tied.units) filter (where classified.exclusion_reason is null), 0)::BIGINT
            as unit_mentions
    from classified
    left join tied using (platform, mention_id)
),

counts as (
    select
        (select count(*) from delivered) as delivered,
        (
            select count(*) from delivered
            where not {{ in_period('published_at') }}
        ) as outside_week,
        rule_counts.*
    from rule_counts
),

-- the steps in the order of METHODOLOGY §1; is_exclusion = false for the running totals
steps (step, reason, is_exclusion) as (
    values
        (0, 'delivered', false),
        (1, 'outside_week', true),
        (2, 'not_person', true),
        (3, 'excluded_source', true),
        (4, 'spam_author', true),
        (5, 'eligible', false),
        (6, 'not_tied', true),
        (7, 'tied', false),
        (8, 'unit_mentions', false)
),

long as (
    unpivot counts
    on delivered, outside_week, not_person, excluded_source, spam_author, eligible, not_tied,
       tied, unit_mentions
    into name reason value mentions
)

select
    {{ rating_row_header() }},
    steps.step::INTEGER as step,
    steps.reason,
    steps.is_exclusion,
    long.mentions::BIGINT as mentions
from steps
join long using (reason)
