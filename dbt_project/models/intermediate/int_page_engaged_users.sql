-- Distinct users who liked or commented on a page's posts within the week.
select
    platform,
    platform_page_id,
    count(distinct user_key) as engaged_users
from {{ ref('stg_inbox__post_interactions') }}
where {{ in_period('interacted_at') }}
group by platform, platform_page_id
