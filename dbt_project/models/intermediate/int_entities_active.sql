-- Entities active during the period being rated, one row per entity: the registry keeps one line
-- per version (a rename is a new line), and the version in force at the period's end wins when
-- two are active in the same week (renamed mid-week): the latest valid_from. With the population
-- that applies to the period: the latest figure dated before period_end, else the earliest one
-- after (METHODOLOGY §0).
with versions as (
    select * from {{ ref('stg_registry__entities') }}
    where {{ active_in_period('valid_from', 'valid_to') }}
),

entities as (
    select * from versions
    -- versions of one entity never overlap (checked on load), so valid_from decides; an empty
    -- valid_from is the earliest version
    qualify row_number() over (
        partition by entity_id order by valid_from desc nulls last, valid_to desc nulls first
    ) = 1
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
