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
        -- two unnests in one select list run side by side: each item with its 1-based index
        unnest(json_extract(response, '$.response.items[*]')) as item,
        unnest(generate_series(1, json_array_length(response, '$.response.items')::BIGINT)) as item_index
    from source
),

renamed as (
    select
        platform,
        platform_page_id,
        item ->> '$.id' as post_id,
        to_timestamp((item ->> '$.date')::BIGINT) as published_at,  -- Unix seconds
        captured_at,
        -- a counter VK leaves out (comments closed, views on old posts) stays NULL
        (item ->> '$.likes.count')::BIGINT as likes,
        (item ->> '$.comments.count')::BIGINT as comments,
        (item ->> '$.reposts.count')::BIGINT as reposts,
        (item ->> '$.views.count')::BIGINT as views,
        coalesce((item ->> '$.likes.count')::BIGINT, 0)
            + coalesce((item ->> '$.comments.count')::BIGINT, 0)
            + coalesce((item ->> '$.reposts.count')::BIGINT, 0) as engagement,
        _load_id,
        item_index::BIGINT as _line
    from items
)

select * from renamed
