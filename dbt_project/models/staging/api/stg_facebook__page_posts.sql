-- Facebook Page posts, one row per item of `GET /{page-id}/posts` pages: likes are all
-- reactions (reactions.summary.total_count), comments comments.summary.total_count, reposts
-- shares.count (METHODOLOGY §0). Graph omits `shares` when a post has none, so when the request
-- asked for shares a missing one is 0; a missing reactions/comments edge stays NULL.
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'facebook' and endpoint = 'page/posts'
),

post_pages as (
    select
        platform,
        platform_page_id,
        captured_at,
        _load_id,
        _file,
        regexp_matches(coalesce(request ->> 'fields', ''), '(^|,)shares(,|$)') as asked_shares,
        json_extract(response, '$.data[*]') as items
    from source
),

items as (
    select
        platform,
        platform_page_id,
        captured_at,
        _load_id,
        _file,
        asked_shares,
        unnest(items) as item,
        generate_subscripts(items, 1) as item_number
    from post_pages
),

renamed as (
    select
        platform,
        platform_page_id,
        item ->> 'id' as post_id,
        try_cast(item ->> 'created_time' as timestamptz) as published_at,
        captured_at,
        try_cast(item ->> '$.reactions.summary.total_count' as bigint) as likes,
        try_cast(item ->> '$.comments.summary.total_count' as bigint) as comments,
        case
            when asked_shares then coalesce(try_cast(item ->> '$.shares.count' as bigint), 0)
            else try_cast(item ->> '$.shares.count' as bigint)
        end as reposts,
        cast(null as bigint) as views,
        coalesce(likes, 0) + coalesce(comments, 0) + coalesce(reposts, 0) as engagement,
        _load_id,
        _file,
        cast(item_number as bigint) as _line
    from items
)

-- posts landing quarantined (no id, no created_time, a counter that is not a number) are left out
select * exclude (_file) from renamed
where {{ api_record_kept('posts', '_file', '_line') }}
