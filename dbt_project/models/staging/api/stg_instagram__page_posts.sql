-- Instagram media, one row per item of `GET /{ig-user-id}/media` pages (own accounts) and of
-- business_discovery media pages (other accounts). likes/comments are like_count and
-- comments_count (absent when the owner hides them: NULL); Instagram has no repost counter, so
-- reposts is 0 (METHODOLOGY §0). Timestamps are ISO-8601 with +0000.
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'instagram'
        and endpoint in ('ig_user/media', 'business_discovery', 'business_discovery/media')
),

media_pages as (
    select
        platform,
        platform_page_id,
        captured_at,
        _load_id,
        _file,
        json_extract(
            case endpoint
                when 'ig_user/media' then response -> '$.data'
                else response -> '$.business_discovery.media.data'
            end,
            '$[*]'
        ) as items
    from source
),

items as (
    select
        platform,
        platform_page_id,
        captured_at,
        _load_id,
        _file,
        unnest(items) as item,
        generate_subscripts(items, 1) as item_number
    from media_pages
),

renamed as (
    select
        platform,
        platform_page_id,
        item ->> 'id' as post_id,
        try_cast(item ->> 'timestamp' as timestamptz) as published_at,
        captured_at,
        try_cast(item ->> 'like_count' as bigint) as likes,
        try_cast(item ->> 'comments_count' as bigint) as comments,
        cast(0 as bigint) as reposts,
        cast(null as bigint) as views,
        coalesce(likes, 0) + coalesce(comments, 0) + coalesce(reposts, 0) as engagement,
        _load_id,
        _file,
        cast(item_number as bigint) as _line
    from items
)

-- media landing quarantined (no id, no timestamp, a counter that is not a number) are left out
select * exclude (_file) from renamed
where {{ api_record_kept('posts', '_file', '_line') }}
