-- Published history of the month's reported incident figures (revisioned like the ratings).
{{ rating_history_config(tags=['monthly']) }}
{{ append_revision('int_incident_stats', keys=['scope'], with_movement=false) }}
