-- Subscribers of each page for the week: its latest snapshot captured in
-- [period_end - subscriber_window_days, period_end + capture_grace); NULL without one.
with snapshots as (
    select * from {{ ref('int_page_snapshots_unioned') }}
    where captured_at >= {{ local_midnight(period_end() ~ ' - '
                                           ~ param('subscriber_window_days')) }}
      and captured_at < {{ capture_deadline_ts() }}
    -- two rows of one capture: the later loaded wins
    qualify {{ latest_loaded('platform, platform_page_id, captured_at') }}
)

select
    platform,
    platform_page_id,
    captured_at as snapshot_captured_at,
    subscribers,
    bot_share as snapshot_bot_share,
    engaged_users_7d
from snapshots
qualify row_number() over (partition by platform, platform_page_id order by captured_at desc) = 1
