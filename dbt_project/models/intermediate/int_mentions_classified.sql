-- Every mention of the week with the first rule that excludes it (NULL = eligible).
with mentions as (
    select * from {{ ref('int_mentions_deduplicated') }}
),

excluded_sources as (
    select distinct platform, source_id from {{ ref('stg_registry__excluded_sources') }}
),

mass_sharers as (
    select platform, author_key from {{ ref('int_authors_flagged_as_mass_sharers') }}
)

select
    mentions.*,
    case
        when mentions.author_type <> 'person' then 'not_a_person'
        when excluded_sources.source_id is not null then 'excluded_source'
        when mass_sharers.author_key is not null then 'mass_sharer'
    end as exclusion_reason
from mentions
left join excluded_sources
    on mentions.platform = excluded_sources.platform
   and mentions.source_id = excluded_sources.source_id
left join mass_sharers
    on mentions.platform = mass_sharers.platform
   and mentions.author_key = mass_sharers.author_key
