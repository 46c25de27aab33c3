with source as (
    select * from {{ source('inbox', 'page_snapshots') }}
),

renamed as (
    select
        platform,
        platform_page_id,
        captured_at,
        subscribers,
        bot_share,
        engaged_users_7d,
        _load_id,
        _line
    from source
)

select * from renamed
