-- VK community subscribers from groups.getById captures (one community per call).
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'vk' and endpoint = 'groups.getById'
),

renamed as (
    select
        platform,
        platform_page_id,
        captured_at,
        -- v5.199 answers {"groups": [...]}; versions before 5.194 a bare array
        coalesce(
            response ->> '$.response.groups[0].members_count',
            response ->> '$.response[0].members_count'
        )::BIGINT as subscribers,
        null::DOUBLE as bot_share,
        null::BIGINT as engaged_users_7d,
        _load_id,
        1::BIGINT as _line
    from source
)

select * from renamed
