-- Instagram account snapshots: followers_count of `GET /{ig-user-id}` (own accounts, endpoint
-- ig_user) and of business_discovery (other accounts). engaged_users_7d is the accounts_engaged
-- insight of an own account when its request covered exactly 7 days; its capture belongs to
-- the ig_user capture its fetch wrote just before it (a fetch writes ig_user, then insights).
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'instagram'
),

accounts as (
    select
        platform,
        platform_page_id,
        period_start,
        endpoint,
        captured_at,
        case endpoint
            when 'ig_user' then response ->> '$.followers_count'
            else response ->> '$.business_discovery.followers_count'
        end as followers_count,
        _load_id,
        _file
    from source
    where endpoint in ('ig_user', 'business_discovery')
),

insights as (
    select
        platform_page_id,
        period_start,
        captured_at,
        case
            when cast(request ->> 'until' as bigint) - cast(request ->> 'since' as bigint) = 604800
                then list_filter(
                    json_extract(response, '$.data[*]'),
                    lambda metric: metric ->> 'name' = 'accounts_engaged'
                )[1] ->> '$.total_value.value'
        end as accounts_engaged
    from source
    where endpoint = 'ig_user/insights'
    -- the same capture landed twice: one copy
    qualify row_number() over (
        partition by platform_page_id, captured_at order by _load_id desc
    ) = 1
),

own_account_captures as (
    select distinct platform_page_id, period_start, captured_at
    from accounts
    where endpoint = 'ig_user'
),

insights_of_capture as (
    -- each insights capture to the latest ig_user capture of its page written before it
    select
        own_account_captures.captured_at as account_captured_at,
        insights.platform_page_id,
        insights.period_start,
        insights.accounts_engaged
    from insights
    asof join own_account_captures
        on insights.platform_page_id = own_account_captures.platform_page_id
        and insights.period_start = own_account_captures.period_start
        and insights.captured_at >= own_account_captures.captured_at
    qualify row_number() over (
        partition by insights.platform_page_id, insights.period_start, account_captured_at
        order by insights.captured_at
    ) = 1
),

renamed as (
    select
        accounts.platform,
        accounts.platform_page_id,
        accounts.captured_at,
        try_cast(accounts.followers_count as bigint) as subscribers,
        cast(null as double) as bot_share,
        cast(insights_of_capture.accounts_engaged as bigint) as engaged_users_7d,
        accounts._load_id,
        accounts._file,
        cast(1 as bigint) as _line
    from accounts
    left join insights_of_capture
        on accounts.endpoint = 'ig_user'
        and accounts.platform_page_id = insights_of_capture.platform_page_id
        and accounts.period_start = insights_of_capture.period_start
        and accounts.captured_at = insights_of_capture.account_captured_at
)

-- an account landing quarantined (a follower count that is not a number) is left out
select * exclude (_file) from renamed
where {{ api_record_kept('page_snapshots', '_file', '_line') }}
