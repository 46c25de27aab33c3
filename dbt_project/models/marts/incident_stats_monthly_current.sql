-- The latest revision of each month.
{{ config(materialized='view', tags=['monthly']) }}
{{ current_revision('incident_stats_monthly', kind='monthly') }}
