-- VK wall posts, one row per item of each wall.get capture (the pinned post included: the
-- week a post belongs to is decided downstream by published_at).
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'vk' and endpoint = 'wall.get'
),

items as (
    select
        platform,
        platform_page_id,
        captured_at,
        _load_id,
        _file,
        -- two unnests in one select list run side by side: each item with its 1-based index
        unnest(json_extract(response, '$.response.items[*]')) as item,
        unnest(generate_series(1, json_array_length(response, '$.response.items')::BIGINT))
            as item_index
    from source
),

renamed as (
    select
        platform,
        platform_page_id,
        item ->> '$.id' as post_id,
        to_timestamp(try_cast(item ->> '$.date' as BIGINT)) as published_at,  -- Unix seconds
        captured_at,
        -- a counter VK leaves out (comments closed, views on old posts) stays NULL
        try_cast(item ->> '$.likes.count' as BIGINT) as likes,
        try_cast(item ->> '$.comments.count' as BIGINT) as comments,
        try_cast(item ->> '$.reposts.count' as BIGINT) as reposts,
        try_cast(item ->> '$.views.count' as BIGINT) as views,
        coalesce(likes, 0) + coalesce(comments, 0) + coalesce(reposts, 0) as engagement,
        _load_id,
        _file,
        item_index::BIGINT as _line
    from items
)

-- records landing quarantined (no id, no date, a counter that is not a number) are left out
select * exclude (_file) from renamed
where {{ api_record_kept('posts', '_file', '_line') }}
