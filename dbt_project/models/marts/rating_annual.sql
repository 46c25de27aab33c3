-- Published history of the year's final tables (all weekly ratings; one revision per changed
-- re-run of the year).
{{ rating_history_config(tags=['annual']) }}
{{ append_revision('int_annual_ranked', keys=['rating', 'unit_id']) }}
