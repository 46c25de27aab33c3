with source as (
    select * from {{ source('inbox', 'page_posts') }}
),

renamed as (
    select
        platform,
        platform_page_id,
        post_id,
        published_at,
        captured_at,
        likes,
        comments,
        reposts,
        views,
        coalesce(likes, 0) + coalesce(comments, 0) + coalesce(reposts, 0) as engagement,
        _load_id,
        _line
    from source
)

select * from renamed
