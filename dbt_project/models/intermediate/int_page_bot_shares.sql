-- Bot share of each page's latest follower audit captured in
-- [period_end - audit_window_days, period_end + capture_grace) (METHODOLOGY §4, §6).
with audits as (
    select * from {{ ref('stg_inbox__follower_audits') }}
    where captured_at >= {{ local_midnight(period_end() ~ ' - ' ~ param('audit_window_days')) }}
      and captured_at < {{ capture_deadline_ts() }}
    qualify {{ latest_loaded('platform, platform_page_id, captured_at, follower_key') }}
),

latest_audit as (
    select * from audits
    qualify captured_at = max(captured_at) over (partition by platform, platform_page_id)
),

signals as (
    select
        *,
        -- a missing feature is not a signal
        coalesce(has_avatar = false, false)::INTEGER
        + coalesce(posts_count = 0, false)::INTEGER
        + coalesce(following_count > {{ param('bot_following_min') }}, false)::INTEGER
        + coalesce(case
            when followers_count = 0 then following_count > 0
            else following_count / followers_count > {{ param('bot_ratio') }}
          end, false)::INTEGER
        + coalesce(username_trailing_digits >= {{ param('bot_username_digits') }}, false)::INTEGER
          as bot_signals
    from latest_audit
)

select
    platform,
    platform_page_id,
    captured_at as audit_captured_at,
    count(*) as sampled_followers,
    count(*) filter (where bot_signals >= {{ param('bot_min_signals') }}) as bots,
    count(*) filter (where bot_signals >= {{ param('bot_min_signals') }}) / count(*) as bot_share
from signals
group by platform, platform_page_id, captured_at
