with source as (
    select * from {{ source('inbox', 'follower_audits') }}
),

renamed as (
    select
        platform,
        platform_page_id,
        captured_at,
        {{ pseudonymize('platform', 'follower_id') }} as follower_key,
        -- only what the bot rule needs from the username leaves staging
        case when username is not null
            then length(regexp_extract(username, '[0-9]*$')) end as username_trailing_digits,
        has_avatar,
        posts_count,
        followers_count,
        following_count,
        _load_id,
        _line
    from source
)

select * from renamed
