-- «Инста-акимы» of each year: the top three of the annual Insta-akims table (ties included).
{{ config(materialized='view', tags=['annual']) }}
select year, final_place, unit_id, unit_name, unit_name_kk, mean_weekly_place, expert_score,
       penalty_points, revision, published_at
from {{ ref('rating_annual_current') }}
where rating = 'insta_akims' and top_three
