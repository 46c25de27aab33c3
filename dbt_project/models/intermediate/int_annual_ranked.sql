-- Candidate annual table: each weekly rating's units ranked on their own; the expert score is
-- ranked only for a rating that has scores that year. The top three of Insta-akims are the
-- year's «Инста-акимы».
{{ config(tags=['annual']) }}

with ranked as (
    {{ ranked(ref('int_annual_indicators'), 'annual', [
        ('mean_weekly_place', 'less'),
        ('expert_score', 'more'),
    ], partition_by='rating', optional=['expert_score']) }}
)

select *, final_place <= 3 as top_three
from ranked
