-- YouTube videos: one row per item of each playlistItems.list capture (the channel's uploads),
-- with the statistics of the videos.list capture the connector made right after it.
--
-- How the two captures are joined: same page (platform_page_id) and fetch week
-- (period_start), same video id, and the videos.list capture is the earliest one captured at
-- or after the playlist page (the connector writes the playlist page, then asks videos.list
-- for its ids), so a week fetched twice pairs each playlist page with its own statistics.
-- A video without a match (private, deleted, left out of videos.list) keeps NULL counters.
-- Items landing quarantined (an upload without videoId or videoPublishedAt, e.g. a private
-- video; a video whose counters are not numbers) are left out here, and counted there.
-- Engagement per METHODOLOGY §0: likes + comments, reposts 0. Counters are strings.
with source as (
    select * from {{ source('inbox', 'api_captures') }}
    where platform = 'youtube' and endpoint in ('playlistItems.list', 'videos.list')
),

uploads as (
    select
        source.platform,
        source.platform_page_id,
        source.period_start,
        source.captured_at,
        source._load_id,
        item.key::BIGINT + 1 as item_index,  -- json_each numbers array items from 0
        item.value ->> '$.contentDetails.videoId' as video_id,
        try_cast(item.value ->> '$.contentDetails.videoPublishedAt' as TIMESTAMPTZ)
            as video_published_at
    from source, json_each(source.response, '$.items') as item
    where source.endpoint = 'playlistItems.list'
        and {{ api_record_kept('posts', 'source._file', 'item.key::BIGINT + 1') }}
),

videos as (
    select
        source.platform_page_id,
        source.period_start,
        source.captured_at,
        source._load_id,
        item.value ->> '$.id' as video_id,
        item.value as video
    from source, json_each(source.response, '$.items') as item
    where source.endpoint = 'videos.list'
        and {{ api_record_kept('posts', 'source._file', 'item.key::BIGINT + 1') }}
),

joined as (
    select
        uploads.*,
        videos.captured_at as stats_captured_at,
        videos.video
    from uploads
    left join videos
        on uploads.platform_page_id = videos.platform_page_id
        and uploads.period_start = videos.period_start
        and uploads.video_id = videos.video_id
        and uploads.captured_at <= videos.captured_at
    qualify row_number() over (
        partition by uploads._load_id, uploads.item_index
        order by videos.captured_at, videos._load_id
    ) = 1
),

renamed as (
    select
        platform,
        platform_page_id,
        video_id as post_id,
        coalesce(try_cast(video ->> '$.snippet.publishedAt' as TIMESTAMPTZ),
                 video_published_at) as published_at,
        coalesce(stats_captured_at, captured_at) as captured_at,  -- when the counters were read
        try_cast(video ->> '$.statistics.likeCount' as BIGINT) as likes,
        try_cast(video ->> '$.statistics.commentCount' as BIGINT) as comments,
        0::BIGINT as reposts,
        try_cast(video ->> '$.statistics.viewCount' as BIGINT) as views,
        coalesce(likes, 0) + coalesce(comments, 0) + reposts as engagement,
        _load_id,
        item_index as _line
    from joined
)

select * from renamed
