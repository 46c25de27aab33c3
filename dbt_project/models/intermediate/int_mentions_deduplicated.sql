-- Mentions of the week: the latest loaded copy of each (platform, mention_id), kept when that
-- copy was published within the week. Only identities seen in the week are deduplicated.
-- The text stays in the raw table: only alias matching reads it (int_mentions_tied_to_regions),
-- and carrying it through every table of mentions costs more than anything done with them.
with mentions as (
    select * from {{ ref('int_mentions_unioned') }}
),

week_identities as (
    select distinct platform, mention_id
    from mentions
    where {{ in_period('published_at') }}
),

-- the latest copy is chosen on narrow rows (the key and what orders copies): windowing whole
-- rows with their texts sorts gigabytes at national scale
latest_copies as (
    select platform, mention_id, _load_id, _line, published_at
    from mentions
    semi join week_identities using (platform, mention_id)
    qualify {{ latest_loaded('platform, mention_id') }}
),

kept as (
    select platform, mention_id, _load_id, _line
    from latest_copies
    where {{ in_period('published_at') }}
)

select mentions.* exclude (text)
from mentions
semi join kept using (platform, mention_id, _load_id, _line)
