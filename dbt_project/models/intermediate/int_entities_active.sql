-- Entities active during the period being rated, with the population that applies to it:
-- the latest figure dated before period_end, else the earliest one after (METHODOLOGY §0).
with entities as (
    select * from {{ ref('stg_registry__entities') }}
    where {{ active_in_period('valid_from', 'valid_to') }}
),

populations as (
    select
        entity_id,
        coalesce(
            max_by(population, population_date) filter (where population_date < {{ period_end() }}),
            min_by(population, population_date) filter (where population_date >= {{ period_end() }})
        ) as population
    from {{ ref('stg_registry__populations') }}
    group by entity_id
)

select entities.*, populations.population
from entities
left join populations using (entity_id)
