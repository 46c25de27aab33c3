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
        _file,
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
        try_cast(item ->> '$.created_ms' as BIGINT) as created_ms,
        try_cast(item ->> '$.like_summary.count' as BIGINT) as likes,
        try_cast(item ->> '$.discussion_summary.comments_count' as BIGINT) as comments,
        try_cast(item ->> '$.reshare_summary.count' as BIGINT) as reshares,
        try_cast(item ->> '$.views_count' as BIGINT) as views
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
        _file,
        item_index::BIGINT as _line
    from counters
)

-- topics landing quarantined (no id, no created_ms, a counter that is not a number) are left out
select * exclude (_file) from renamed
where {{ api_record_kept('posts', '_file', '_line') }}
