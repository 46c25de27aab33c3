-- Posts published in the week with the metrics of their latest capture taken before
-- period_end + capture_grace (captures are cumulative snapshots).
with captures as (
    select * from {{ ref('int_page_posts_unioned') }}
    where captured_at < {{ capture_deadline_ts() }}
),

week_posts as (
    select distinct platform, platform_page_id, post_id
    from captures
    where {{ in_period('published_at') }}
),

latest_capture as (
    select captures.*
    from captures
    semi join week_posts using (platform, platform_page_id, post_id)
    qualify row_number() over (
        partition by platform, platform_page_id, post_id
        order by captured_at desc, _load_id desc, _line desc
    ) = 1
)

select * from latest_capture
where {{ in_period('published_at') }}
