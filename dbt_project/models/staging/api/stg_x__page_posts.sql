-- X posts, one row per item of `data` of each users/:id/tweets capture (an empty page has no
-- `data`: no rows). Engagement per METHODOLOGY §0: likes (like_count) + replies (reply_count)
-- + reposts (retweet_count + quote_count; NULL only when both are missing). views =
-- impression_count. created_at is ISO-8601 with milliseconds and Z.
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'x' and endpoint = 'users/:id/tweets'
),

items as (
    select
        source.platform,
        source.platform_page_id,
        source.captured_at,
        source._load_id,
        source._file,
        item.key::BIGINT + 1 as item_index,  -- json_each numbers array items from 0
        item.value as post,
        try_cast(item.value ->> '$.public_metrics.retweet_count' as BIGINT) as retweets,
        try_cast(item.value ->> '$.public_metrics.quote_count' as BIGINT) as quotes
    from source, json_each(source.response, '$.data') as item
),

renamed as (
    select
        platform,
        platform_page_id,
        post ->> '$.id' as post_id,
        try_cast(post ->> '$.created_at' as TIMESTAMPTZ) as published_at,
        captured_at,
        try_cast(post ->> '$.public_metrics.like_count' as BIGINT) as likes,
        try_cast(post ->> '$.public_metrics.reply_count' as BIGINT) as comments,
        case
            when retweets is not null or quotes is not null
                then coalesce(retweets, 0) + coalesce(quotes, 0)
        end as reposts,
        try_cast(post ->> '$.public_metrics.impression_count' as BIGINT) as views,
        coalesce(likes, 0) + coalesce(comments, 0) + coalesce(reposts, 0) as engagement,
        _load_id,
        _file,
        item_index as _line
    from items
)

-- posts landing quarantined (no id, no created_at, a counter that is not a number) are left
-- out: a timeline requested without tweet.fields=created_at,public_metrics lands, its posts wait
-- in ops.quarantine
select * exclude (_file) from renamed
where {{ api_record_kept('posts', '_file', '_line') }}
