-- The latest revision of each week.
{{ config(materialized='view') }}
{{ current_revision('rating_people_weekly') }}
