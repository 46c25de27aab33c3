-- Indicators R1–R4 of every active official page (regional and district akimats).
with pages as (
    select * from {{ ref('int_pages_active') }}
    where page_kind in ('official_region', 'official_district')
),

engagement as (
    select platform, platform_page_id, sum(engagement) as engagement
    from {{ ref('int_page_posts_of_week') }}
    group by platform, platform_page_id
),

measured as (
    select
        pages.*,
        subscribers.subscribers,
        coalesce(engagement.engagement, 0)::BIGINT as engagement
    from pages
    left join {{ ref('int_page_subscribers') }} as subscribers using (platform, platform_page_id)
    left join engagement using (platform, platform_page_id)
)

select
    {{ period_start() }} as period_start,
    {{ period_end() }} as period_end,
    {{ methodology_version() }} as methodology_version,
    page_id as unit_id,
    coalesce(owner_name, entity_name_ru) as unit_name,
    -- a page named by its owner has no Kazakh name of its own; the entity's is shown apart
    case when owner_name is null then entity_name_kk end as unit_name_kk,
    entity_name_ru as entity_name,
    page_kind,
    platform,
    entity_id,
    url,
    population,
    subscribers,
    engagement,
    case when subscribers > 0
        then {{ rounded('engagement / subscribers * 100') }} end as er_subscribers_pct,
    {{ rounded('engagement / population * 1000') }} as engagement_per_1k_pop
from measured
