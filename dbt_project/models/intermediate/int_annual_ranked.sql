-- Candidate annual table: each weekly rating's units ranked on their own; the expert score is
-- ranked only for a rating that has scores that year. The top three of Insta-akims are the
-- year's «Инста-акимы».
{{ config(tags=['annual']) }}

with ranked as (
    {{ rank_rating('annual', ref('int_annual_indicators')) }}
)

select *, final_place <= 3 as top_three
from ranked
