select
    entity_id,
    alias,
    lang,
    {{ normalize_text('alias') }} as alias_normalized
from {{ source('registry', 'aliases') }}
where trim(alias) <> ''
