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
-- words as a whole word of the text, so the text's words are joined on one word of the alias
-- (an equi-join), and the multi-word candidates that contain the alias are checked on marked
-- texts. The key word is the alias's rarest word in the week's texts («алматы облысы» is found
-- through «облысы», not through «алматы», which would make a candidate of every text about the
-- city). A multi-word alias that contains a one-word alias of its region as a word
-- finds nothing that one does not («город алматы» beside «алматы»): it is left out.
region_aliases as (
    select distinct
        aliases.entity_id,
        aliases.alias_normalized,
        regexp_extract_all(aliases.alias_normalized, {{ word_pattern() }}) as words,
        regexp_full_match(aliases.alias_normalized, {{ word_pattern() }}) as is_one_word,
        regexp_full_match(aliases.alias_normalized, '[\p{L}\p{N}](.*[\p{L}\p{N}])?', 's')
            as is_word_bounded,
        {{ mark_words('aliases.alias_normalized') }} as alias_marked
    from {{ ref('stg_registry__aliases') }} as aliases
    join regions using (entity_id)
),

aliases as (
    select * from region_aliases
    where is_one_word
       or not exists (
           select 1 from region_aliases as one_word
           where one_word.is_one_word
             and one_word.entity_id = region_aliases.entity_id
             and list_contains(region_aliases.words, one_word.alias_normalized)
       )
),

alias_words as (
    select distinct alias_normalized, unnest(words) as word
    from aliases
),

texts as (
    select eligible.platform, eligible.mention_id,
           {{ normalize_text('loaded.text') }} as text_normalized
    from eligible
    join {{ ref('int_mentions_unioned') }} as loaded
        using (platform, mention_id, _load_id, _line)
    where eligible.entity_id is null and loaded.text is not null
),

text_words as (
    select platform, mention_id,
           unnest(regexp_extract_all(text_normalized, {{ word_pattern() }})) as word
    from texts
),

word_frequencies as (
    select word, count(*) as occurrences
    from text_words
    semi join alias_words using (word)
    group by word
),

-- rarest word, then longest (any choice finds the same matches; this one finds fewest candidates)
key_words as (
    select alias_words.alias_normalized,
           arg_min(alias_words.word,
                   [coalesce(word_frequencies.occurrences, 0), -length(alias_words.word)])
               as key_word
    from alias_words
    left join word_frequencies using (word)
    group by alias_words.alias_normalized
),

-- narrow rows (no distinct: a text with its key word twice is a candidate twice; the union
-- below removes the repeats)
candidates as (
    select text_words.platform, text_words.mention_id, key_words.alias_normalized
    from text_words
    join key_words on text_words.word = key_words.key_word
),

alias_matches as (
    select candidates.platform, candidates.mention_id, aliases.entity_id as unit_id
    from candidates
    join aliases using (alias_normalized)
    where aliases.is_one_word
    union
    select candidates.platform, candidates.mention_id, aliases.entity_id
    from candidates
    join aliases using (alias_normalized)
    join texts using (platform, mention_id)
    where not aliases.is_one_word and aliases.is_word_bounded
      -- marking words is a regex replace: only where the alias occurs, but not as a whole word
      -- at its first occurrence
      and (case when not contains(texts.text_normalized, aliases.alias_normalized) then false
                when {{ first_occurrence_is_whole_word('texts.text_normalized',
                                                       'aliases.alias_normalized') }} then true
                else contains({{ mark_words('texts.text_normalized') }}, aliases.alias_marked)
           end)
    union
    -- aliases that start or end with a sign, e.g. «(ВКО)»: the general check, a regex per
    -- (text, alias) pair, so only where a plain substring test found the alias (texts x such
    -- aliases is a nested loop; the registry has none today)
    select texts.platform, texts.mention_id, aliases.entity_id
    from texts
    join aliases
      on not aliases.is_word_bounded
     and (case when contains(texts.text_normalized, aliases.alias_normalized)
               then {{ contains_whole_word('texts.text_normalized', 'aliases.alias_normalized') }}
               else false end)
),

by_alias as (
    select eligible.*, alias_matches.unit_id
    from eligible
    join alias_matches using (platform, mention_id)
)

select * from by_entity_id
union all by name
select * from by_alias
