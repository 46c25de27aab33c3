-- Indicators I1–I3 of every active personal Instagram page of an akim.
with pages as (
    select * from {{ ref('int_pages_active') }}
    where platform = 'instagram' and page_kind = 'akim_personal'
),

measured as (
    select
        pages.*,
        subscribers.subscribers,
        subscribers.engaged_users_7d,
        -- the latest audit, else the snapshot's own bot share, else 0 and flagged
        coalesce(audits.bot_share, subscribers.snapshot_bot_share, 0) as bot_share,
        audits.bot_share is null and subscribers.snapshot_bot_share is null as bots_unverified,
        coalesce(engaged.engaged_users, subscribers.engaged_users_7d) as engaged_users
    from pages
    left join {{ ref('int_page_subscribers') }} as subscribers using (platform, platform_page_id)
    left join {{ ref('int_page_bot_shares') }} as audits using (platform, platform_page_id)
    left join {{ ref('int_page_engaged_users') }} as engaged using (platform, platform_page_id)
),

computed as (
    select *, subscribers * (1 - bot_share) as real_subscribers_exact
    from measured
)

select
    {{ rating_row_header() }},
    {{ page_unit_columns() }},
    subscribers,
    bot_share,
    bots_unverified,
    {{ rounded('real_subscribers_exact') }} as real_subscribers,
    engaged_users::BIGINT as engaged_users,
    case when real_subscribers_exact <> 0
        then {{ rounded('engaged_users / real_subscribers_exact * 100') }} end as er_real_pct
from computed
