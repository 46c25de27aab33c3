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
        try_cast(coalesce(
            response ->> '$[0].members_count',
            response ->> '$.groups[0].members_count'
        ) as BIGINT) as subscribers,
        null::DOUBLE as bot_share,
        null::BIGINT as engaged_users_7d,
        _load_id,
        _file,
        1::BIGINT as _line
    from source
)

-- a snapshot landing quarantined (a member count that is not a number) is left out
select * exclude (_file) from renamed
where {{ api_record_kept('page_snapshots', '_file', '_line') }}
