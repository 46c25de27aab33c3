select
    entity_id,
    level,
    name_ru,
    name_kk,
    parent_id,
    coalesce(body_group, 'municipal') as body_group,
    valid_from,
    valid_to
from {{ source('registry', 'entities') }}
