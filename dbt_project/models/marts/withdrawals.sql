-- Withdrawn publications: one row per `govpulse withdraw` (govpulse/withdraw.py appends them; a
-- run never does). dbt owns the table's columns and documentation: the model itself adds no
-- row. A withdrawal is a revision of its period above every revision of the kind's histories,
-- so the _current views leave the period out until a run of that period appends above it.
{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false,
          on_schema_change='fail') }}
select
    null::VARCHAR as kind,
    null::DATE as period_start,
    null::DATE as period_end,
    null::INTEGER as revision,
    null::TIMESTAMPTZ as published_at,
    null::VARCHAR as reason,
    null::VARCHAR as run_id
where false
