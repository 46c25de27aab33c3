select
    year,
    rating,
    unit_id,
    score
from {{ source('registry', 'expert_scores') }}
