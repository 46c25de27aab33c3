-- Eligible mentions tied to the rated regions of the week: by entity_id when it is given (an
-- entity_id that is not a rated region ties to nothing and the text is not searched), otherwise
-- by every region alias found in the text as a whole word. One row per (mention, region).
with eligible as (
    select * from {{ ref('int_mentions_classified') }}
    where exclusion_reason is null
),

regions as (
    select entity_id from {{ ref('int_entities_active') }}
    where level = 'region'
),

by_entity_id as (
    select eligible.*, eligible.entity_id as unit_id
    from eligible
    join regions using (entity_id)
),

aliases as (
    select distinct aliases.entity_id, aliases.alias_normalized
    from {{ ref('stg_registry__aliases') }} as aliases
    join regions using (entity_id)
),

texts as (
    select platform, mention_id, {{ normalize_text('text') }} as text_normalized
    from eligible
    where entity_id is null and text is not null
),

alias_matches as (
    select distinct texts.platform, texts.mention_id, aliases.entity_id as unit_id
    from texts
    join aliases
      on {{ contains_whole_word('texts.text_normalized', 'aliases.alias_normalized') }}
),

by_alias as (
    select eligible.*, alias_matches.unit_id
    from eligible
    join alias_matches using (platform, mention_id)
)

select * from by_entity_id
union all by name
select * from by_alias
