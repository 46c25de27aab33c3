-- The latest revision of each month.
{{ config(materialized='view', tags=['monthly']) }}
{{ current_revision('fakes_monthly', kind='monthly') }}
