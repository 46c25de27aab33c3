-- The explanations of the latest revision of each rating and period (what the _current views
-- show). Built from the history tables, not from views: the published file re-creates views in
-- name order, so a view may only refer to tables and to views named before it.
{{ config(materialized='view') }}
{{ rating_explanations(current=true) }}
