-- Facebook Page snapshots from `GET /{page-id}?fields=id,name,fan_count,followers_count`:
-- subscribers are followers_count (what New Pages Experience pages show), else fan_count
-- (Page likes) for classic Pages that only report that; NULL when neither came back.
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'facebook' and endpoint = 'page'
),

renamed as (
    select
        platform,
        platform_page_id,
        captured_at,
        try_cast(
            coalesce(response ->> '$.followers_count', response ->> '$.fan_count') as bigint
        ) as subscribers,
        cast(null as double) as bot_share,
        cast(null as bigint) as engaged_users_7d,
        _load_id,
        _file,
        cast(1 as bigint) as _line
    from source
)

-- a snapshot landing quarantined (a follower count that is not a number) is left out
select * exclude (_file) from renamed
where {{ api_record_kept('page_snapshots', '_file', '_line') }}
