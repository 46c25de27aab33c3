-- "What people say" indicators P1–P4 for every rated region of the week (zeros when silent).
with regions as (
    select entity_id as unit_id, name_ru, name_kk, population
    from {{ ref('int_entities_active') }}
    where level = 'region'
),

tied as (
    select * from {{ ref('int_mentions_tied_to_regions') }}
),

volume as (
    select unit_id, count(*) as mentions, sum(engagement) as engagement
    from tied
    group by unit_id
),

-- audience of a sentiment: each distinct author once, with his largest audience
author_audience as (
    select unit_id, sentiment, platform, author_key,
           max(coalesce(author_audience, 0)) as audience
    from tied
    where sentiment in ('positive', 'negative')
    group by unit_id, sentiment, platform, author_key
),

sentiment as (
    select
        unit_id,
        coalesce(sum(audience) filter (where sentiment = 'positive'), 0)
            - coalesce(sum(audience) filter (where sentiment = 'negative'), 0) as net
    from author_audience
    group by unit_id
)

select
    {{ rating_row_header() }},
    regions.unit_id,
    regions.name_ru as unit_name,
    regions.name_kk as unit_name_kk,
    regions.population,
    coalesce(volume.mentions, 0)::BIGINT as mentions,
    coalesce(volume.engagement, 0)::BIGINT as engagement,
    {{ rounded('coalesce(volume.engagement, 0) / regions.population * 1000') }}
        as engagement_per_1k_pop,
    coalesce(sentiment.net, 0)::BIGINT as sentiment_audience_net
from regions
left join volume using (unit_id)
left join sentiment using (unit_id)
