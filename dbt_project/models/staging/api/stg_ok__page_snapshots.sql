-- OK group members from group.getInfo captures (one group per call).
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'ok' and endpoint = 'group.getInfo'
),

renamed as (
    select
        platform,
        platform_page_id,
        captured_at,
        -- a top-level array as OK sends it; {"groups": [...]} as apiok.ru renders it
        coalesce(
            response ->> '$[0].members_count',
            response ->> '$.groups[0].members_count'
        )::BIGINT as subscribers,
        null::DOUBLE as bot_share,
        null::BIGINT as engaged_users_7d,
        _load_id,
        1::BIGINT as _line
    from source
)

select * from renamed
