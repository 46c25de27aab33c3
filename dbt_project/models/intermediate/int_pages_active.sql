-- Pages active during the period whose entity is active too, with the entity's name and population.
select
    pages.*,
    entities.name_ru as entity_name_ru,
    entities.name_kk as entity_name_kk,
    entities.population
from {{ ref('stg_registry__pages') }} as pages
join {{ ref('int_entities_active') }} as entities using (entity_id)
where {{ active_in_period('pages.active_from', 'pages.active_to') }}
