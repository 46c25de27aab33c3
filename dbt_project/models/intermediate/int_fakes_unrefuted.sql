-- Fakes of the month not refuted by the run (METHODOLOGY §8 `unrefuted`), listed for the report.
{{ config(tags=['monthly']) }}

select
    {{ rating_row_header() }},
    fake_id,
    claim,
    first_seen_at,
    platform,
    url,
    reach,
    body_id,
    body_name
from {{ ref('int_fakes_month') }}
where refuted_at is null
