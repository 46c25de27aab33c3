-- The rows of each month's latest fakes_monthly revision (none when the list became empty).
{{ config(materialized='view', tags=['monthly']) }}
{{ current_list_revision('fakes_unrefuted_monthly', 'fakes_monthly') }}
