-- The latest revision of each year.
{{ config(materialized='view', tags=['annual']) }}
{{ current_revision('rating_annual', kind='annual') }}
