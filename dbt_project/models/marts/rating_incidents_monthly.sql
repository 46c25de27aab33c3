-- Published history of the monthly incident-response rating: one revision per changed re-run.
{{ rating_history_config(tags=['monthly']) }}
{{ append_revision('int_incidents_ranked') }}
