with source as (
    select * from {{ source('inbox', 'post_interactions') }}
),

renamed as (
    select
        platform,
        platform_page_id,
        post_id,
        {{ pseudonymize('platform', 'user_id') }} as user_key,
        kind,
        "at" as interacted_at,
        _load_id,
        _line
    from source
)

select * from renamed
