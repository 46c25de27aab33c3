-- Candidate incident-response rating of the month, each body group ranked on its own
-- (validated before it is published).
{{ config(tags=['monthly']) }}

{{ ranked(ref('int_incidents_indicators'), 'incidents', [
    ('avg_response_minutes', 'less'),
    ('resolved_count', 'more'),
    ('resolved_satisfied_pct', 'more'),
    ('answer_quality_avg', 'more'),
], partition_by='body_group') }}
