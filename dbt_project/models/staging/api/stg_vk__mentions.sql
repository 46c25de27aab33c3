-- Mentions found by VK newsfeed.search, in the staged shape of stg_inbox__mentions.
-- VK gives no sentiment: every mention is 'neutral'. The author is from_id (users positive,
-- communities negative); the source is the community whose wall holds the post (its id
-- without the minus, as platform_page_id and excluded_sources.source_id write it), NULL on a
-- user's own wall. entity_id stays NULL: mentions are tied to regions by alias in the text.
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'vk' and endpoint = 'newsfeed.search'
),

items as (
    select
        _load_id,
        _file,
        unnest(json_extract(response, '$.response.items[*]')) as item,
        unnest(generate_series(1, json_array_length(response, '$.response.items')::BIGINT))
            as item_index
    from source
),

-- extended=1 puts the authors next to the items: communities with members_count, users with
-- followers_count
community_authors as (
    select _load_id, (author ->> '$.id')::BIGINT as id,
           (author ->> '$.members_count')::BIGINT as audience
    from (select _load_id, unnest(json_extract(response, '$.response.groups[*]')) as author
          from source) as community_records
),

user_authors as (
    select _load_id, (author ->> '$.id')::BIGINT as id,
           (author ->> '$.followers_count')::BIGINT as audience
    from (select _load_id, unnest(json_extract(response, '$.response.profiles[*]')) as author
          from source) as user_records
),

parsed as (
    select
        'vk' as platform,
        items._load_id,
        items._file,
        items.item_index,
        items.item,
        try_cast(items.item ->> '$.owner_id' as BIGINT) as owner_id,
        try_cast(items.item ->> '$.from_id' as BIGINT) as from_id,
        (items.item ->> '$.from_id') as author_id
    from items
),

renamed as (
    select
        ---------- ids
        parsed.platform,
        parsed.owner_id::VARCHAR || '_' || (parsed.item ->> '$.id') as mention_id,
        {{ pseudonymize('parsed.platform', 'parsed.author_id') }} as author_key,
        case when parsed.owner_id < 0 then (-parsed.owner_id)::VARCHAR end as source_id,
        null::VARCHAR as entity_id,

        ---------- attributes
        case
            when parsed.from_id > 0 then 'person'
            when parsed.from_id < 0 then 'community'
            else 'unknown'
        end as author_type,
        case
            when parsed.from_id > 0 then user_authors.audience
            when parsed.from_id < 0 then community_authors.audience
        end as author_audience,
        'neutral' as sentiment,
        parsed.item ->> '$.text' as text,

        ---------- numerics (missing counts are 0 in engagement)
        try_cast(parsed.item ->> '$.likes.count' as BIGINT) as likes,
        try_cast(parsed.item ->> '$.comments.count' as BIGINT) as comments,
        try_cast(parsed.item ->> '$.reposts.count' as BIGINT) as reposts,
        try_cast(parsed.item ->> '$.views.count' as BIGINT) as views,
        coalesce(likes, 0) + coalesce(comments, 0) + coalesce(reposts, 0) as engagement,

        ---------- timestamps
        to_timestamp(try_cast(parsed.item ->> '$.date' as BIGINT)) as published_at,

        ---------- lineage
        parsed._load_id,
        parsed._file,
        parsed.item_index::BIGINT as _line
    from parsed
    left join community_authors
        on parsed._load_id = community_authors._load_id
       and community_authors.id = -parsed.from_id
    left join user_authors
        on parsed._load_id = user_authors._load_id
       and parsed.from_id = user_authors.id
)

-- mentions landing quarantined (no id, owner, author or date; a counter that is not a number)
-- are left out
select * exclude (_file) from renamed
where {{ api_record_kept('mentions', '_file', '_line') }}
