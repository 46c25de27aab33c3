-- Candidate incident-response rating of the month, each body group ranked on its own
-- (validated before it is published).
{{ config(tags=['monthly']) }}

{{ rank_rating('incidents', ref('int_incidents_indicators')) }}
