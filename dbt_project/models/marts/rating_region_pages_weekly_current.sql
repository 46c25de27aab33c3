-- The latest revision of each week.
{{ config(materialized='view') }}
{{ current_revision('rating_region_pages_weekly') }}
