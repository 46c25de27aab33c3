-- The latest revision of each week.
{{ config(materialized='view') }}
select * from {{ ref('rating_district_pages_weekly') }}
qualify revision = max(revision) over (partition by period_start)
