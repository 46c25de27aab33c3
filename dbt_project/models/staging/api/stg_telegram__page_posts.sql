-- Telegram channel posts, one row per item of each TGStat channels/posts capture.
-- Engagement per METHODOLOGY §0: reactions (reactions_count) + replies (comments_count) +
-- forwards (shares_count). TGStat may send counters as strings or leave them out: a missing
-- counter stays NULL. Deleted posts (is_deleted = 1) keep their last counters and are kept.
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'telegram' and endpoint = 'channels/posts'
),

items as (
    select
        source.platform,
        source.platform_page_id,
        source.captured_at,
        source._load_id,
        source._file,
        item.key::BIGINT + 1 as item_index,  -- json_each numbers array items from 0
        item.value as post
    from source, json_each(source.response, '$.response.items') as item
),

renamed as (
    select
        platform,
        platform_page_id,
        post ->> '$.id' as post_id,  -- TGStat's post id (the t.me link number is in `link`)
        to_timestamp(try_cast(post ->> '$.date' as BIGINT)) as published_at,  -- Unix seconds
        captured_at,
        try_cast(post ->> '$.reactions_count' as BIGINT) as likes,
        try_cast(post ->> '$.comments_count' as BIGINT) as comments,
        try_cast(post ->> '$.shares_count' as BIGINT) as reposts,
        try_cast(post ->> '$.views' as BIGINT) as views,
        coalesce(likes, 0) + coalesce(comments, 0) + coalesce(reposts, 0) as engagement,
        _load_id,
        _file,
        item_index as _line
    from items
)

-- posts landing quarantined (no id, no date, a counter that is not a number) are left out
select * exclude (_file) from renamed
where {{ api_record_kept('posts', '_file', '_line') }}
