-- Telegram channel snapshots from TGStat channels/get captures (one channel per call):
-- participants_count, a number or a numeric string, is the subscriber count.
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'telegram' and endpoint = 'channels/get'
),

renamed as (
    select
        platform,
        platform_page_id,
        captured_at,
        try_cast(response ->> '$.response.participants_count' as BIGINT) as subscribers,
        null::DOUBLE as bot_share,
        null::BIGINT as engaged_users_7d,
        _load_id,
        _file,
        1::BIGINT as _line
    from source
)

-- a snapshot landing quarantined (a subscriber count that is not a number) is left out
select * exclude (_file) from renamed
where {{ api_record_kept('page_snapshots', '_file', '_line') }}
