-- The latest revision of each month.
{{ config(materialized='view', tags=['monthly']) }}
{{ current_revision('rating_incidents_monthly', kind='monthly') }}
