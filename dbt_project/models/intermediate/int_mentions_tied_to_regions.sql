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

-- Whole-word search without a per-row regex (compiling one per text x alias pair is ~1 ms):
-- a whole-word occurrence of an alias that starts and ends with a word contains each of its
-- words as a whole word of the text, so the text's words are joined on the alias's longest
-- word (an equi-join), and the few multi-word candidates are checked on marked texts.
aliases as (
    select distinct
        aliases.entity_id,
        aliases.alias_normalized,
        regexp_full_match(aliases.alias_normalized, {{ word_pattern() }}) as is_one_word,
        regexp_full_match(aliases.alias_normalized, '[\p{L}\p{N}](.*[\p{L}\p{N}])?', 's')
            as is_word_bounded,
        list_reduce(
            regexp_extract_all(aliases.alias_normalized, {{ word_pattern() }}),
            lambda longest, word: if(length(word) > length(longest), word, longest)
        ) as key_word,
        {{ mark_words('aliases.alias_normalized') }} as alias_marked
    from {{ ref('stg_registry__aliases') }} as aliases
    join regions using (entity_id)
),

texts as (
    select platform, mention_id, {{ normalize_text('text') }} as text_normalized
    from eligible
    where entity_id is null and text is not null
),

text_words as (
    select platform, mention_id,
           unnest(regexp_extract_all(text_normalized, {{ word_pattern() }})) as word
    from texts
),

candidates as (
    select distinct text_words.platform, text_words.mention_id, aliases.entity_id,
           aliases.is_one_word, aliases.alias_marked
    from text_words
    join aliases on aliases.key_word = text_words.word
    where aliases.is_word_bounded
),

alias_matches as (
    select platform, mention_id, entity_id as unit_id
    from candidates
    where is_one_word
    union
    select candidates.platform, candidates.mention_id, candidates.entity_id
    from candidates
    join texts using (platform, mention_id)
    where not candidates.is_one_word
      and contains({{ mark_words('texts.text_normalized') }}, candidates.alias_marked)
    union
    -- aliases that start or end with a sign, e.g. «(ВКО)»: the general check
    select texts.platform, texts.mention_id, aliases.entity_id
    from texts
    join aliases
      on not aliases.is_word_bounded
     and {{ contains_whole_word('texts.text_normalized', 'aliases.alias_normalized') }}
),

by_alias as (
    select eligible.*, alias_matches.unit_id
    from eligible
    join alias_matches using (platform, mention_id)
)

select * from by_entity_id
union all by name
select * from by_alias
