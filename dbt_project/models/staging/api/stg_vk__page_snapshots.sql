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
        try_cast(coalesce(
            response ->> '$.response.groups[0].members_count',
            response ->> '$.response[0].members_count'
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
