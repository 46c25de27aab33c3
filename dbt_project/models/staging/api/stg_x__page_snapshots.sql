-- X account snapshots from the users lookup captures (by username or by id, one account per
-- call): public_metrics.followers_count is the subscriber count.
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'x' and endpoint in ('users/by/username/:username', 'users/:id')
),

renamed as (
    select
        platform,
        platform_page_id,
        captured_at,
        try_cast(response ->> '$.data.public_metrics.followers_count' as BIGINT) as subscribers,
        null::DOUBLE as bot_share,
        null::BIGINT as engaged_users_7d,
        _load_id,
        _file,
        1::BIGINT as _line
    from source
)

-- a snapshot landing quarantined (a follower count that is not a number) is left out
select * exclude (_file) from renamed
where {{ api_record_kept('page_snapshots', '_file', '_line') }}
