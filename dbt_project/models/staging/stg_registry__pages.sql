select
    page_id,
    platform,
    platform_page_id,
    entity_id,
    page_kind,
    url,
    owner_name,
    active_from,
    active_to
from {{ source('registry', 'pages') }}
