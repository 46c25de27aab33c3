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
    {{ rating_row_header() }},
    {{ page_unit_columns() }},
    page_kind,
    population,
    subscribers,
    engagement,
    case when subscribers > 0
        then {{ rounded('engagement / subscribers * 100') }} end as er_subscribers_pct,
    {{ rounded('engagement / population * 1000') }} as engagement_per_1k_pop
from measured
