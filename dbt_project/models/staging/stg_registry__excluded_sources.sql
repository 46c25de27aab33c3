select platform, source_id, reason
from {{ source('registry', 'excluded_sources') }}
