with source as (
    select * from {{ source('inbox', 'mentions') }}
),

renamed as (
    select
        ---------- ids
        platform,
        mention_id,
        {{ pseudonymize('platform', 'author_id') }} as author_key,
        source_id,
        entity_id,

        ---------- attributes
        author_type,
        author_audience,
        sentiment,
        text,

        ---------- numerics (missing counts are 0 in engagement)
        likes,
        comments,
        reposts,
        views,
        coalesce(likes, 0) + coalesce(comments, 0) + coalesce(reposts, 0) as engagement,

        ---------- timestamps
        published_at,

        ---------- lineage
        _load_id,
        _line
    from source
)

select * from renamed
