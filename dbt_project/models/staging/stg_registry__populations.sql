select entity_id, population, population_date
from {{ source('registry', 'populations') }}
