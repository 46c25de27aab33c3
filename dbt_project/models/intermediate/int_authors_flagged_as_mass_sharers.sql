-- Authors who spread at least spam_min_posts mentions over at least spam_min_sources distinct
-- sources in the week (an empty source is one value), whatever the mentions' type or entity.
select
    platform,
    author_key,
    count(*) as mentions,
    count(distinct coalesce(source_id, '')) as sources
from {{ ref('int_mentions_deduplicated') }}
group by platform, author_key
having count(*) >= {{ param('spam_min_posts') }}
   and count(distinct coalesce(source_id, '')) >= {{ param('spam_min_sources') }}
