-- OK group posts, one row per media topic of each stream.get capture that the group owns
-- (entities may also hold the originals of topics the group reshared).
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'ok' and endpoint = 'stream.get'
),

items as (
    select
        platform,
        platform_page_id,
        captured_at,
        _load_id,
        'group:' || (request ->> '$.gid') as group_ref,
        -- two unnests in one select list run side by side: each topic with its 1-based index
        unnest(json_extract(response, '$.entities.media_topics[*]')) as item,
        unnest(generate_series(1, json_array_length(response, '$.entities.media_topics')::BIGINT))
            as item_index
    from source
),

counters as (
    select
        *,
        (item ->> '$.created_ms')::BIGINT as created_ms,
        (item ->> '$.like_summary.count')::BIGINT as likes,
        (item ->> '$.discussion_summary.comments_count')::BIGINT as comments,
        (item ->> '$.reshare_summary.count')::BIGINT as reshares,
        (item ->> '$.views_count')::BIGINT as views
    from items
    where (item ->> '$.owner_ref') is null or (item ->> '$.owner_ref') = group_ref
),

renamed as (
    select
        platform,
        platform_page_id,
        item ->> '$.id' as post_id,
        -- epoch milliseconds, kept exact (no floating-point division)
        to_timestamp(created_ms // 1000) + to_milliseconds(created_ms % 1000) as published_at,
        captured_at,
        likes,
        comments,
        reshares as reposts,
        views,
        coalesce(likes, 0) + coalesce(comments, 0) + coalesce(reshares, 0) as engagement,
        _load_id,
        item_index::BIGINT as _line
    from counters
)

select * from renamed
