{# Keyed hash of an identity: stable across runs with the same key, useless without it. #}
{% macro pseudonymize(platform_column, id_column) -%}
    CASE WHEN {{ id_column }} IS NOT NULL THEN
        sha256('{{ pseudonym_key() }}' || '|' || {{ platform_column }} || '|' || {{ id_column }})
    END
{%- endmacro %}

{# Case-insensitive text for alias matching, with ё = е. #}
{% macro normalize_text(expression) -%}
    replace(lower({{ expression }}), 'ё', 'е')
{%- endmacro %}

{# Words of a text: maximal runs of letters and digits of any script. #}
{% macro word_pattern() -%}
    '[\p{L}\p{N}]+'
{%- endmacro %}

{# Every word wrapped in marks (U+E000, a private-use character): "г. алматы" becomes
   "⟨г⟩. ⟨алматы⟩". In marked texts, a marked alias that starts and ends with a word is found
   exactly where the alias occurs as a whole word: its first and last words are then whole words
   of the text and its separators equal the text's. #}
{% macro mark_words(expression) -%}
    regexp_replace({{ expression }}, '([\p{L}\p{N}]+)', chr(57344) || '\1' || chr(57344), 'g')
{%- endmacro %}

{# The first occurrence of a word-bounded phrase in a text is a whole word: the characters just
   before and after it are not letters or digits. Cheap (patterns are constant, on one character):
   a fast path before the marked-text check, which covers later occurrences. #}
{% macro first_occurrence_is_whole_word(text_expression, phrase_expression) -%}
    (coalesce(not regexp_full_match(
        substr({{ text_expression }}, instr({{ text_expression }}, {{ phrase_expression }}) - 1, 1),
        '[\p{L}\p{N}]'), true)
     and coalesce(not regexp_full_match(
        substr({{ text_expression }},
               instr({{ text_expression }}, {{ phrase_expression }}) + length({{ phrase_expression }}), 1),
        '[\p{L}\p{N}]'), true))
{%- endmacro %}

{# The alias occurs as a whole word: not preceded nor followed by a letter or digit of any script.
   The pattern depends on the row, so it is compiled per row (slow): only for the rare aliases that
   do not start and end with a letter or digit, and only where the text contains the alias. #}
{% macro contains_whole_word(text_expression, word_expression) -%}
    (CASE WHEN contains({{ text_expression }}, {{ word_expression }})
          THEN regexp_matches({{ text_expression }},
              '(^|[^\p{L}\p{N}])' || regexp_escape({{ word_expression }}) || '($|[^\p{L}\p{N}])')
          ELSE false END)
{%- endmacro %}

{# Latest loaded copy wins: later load, then later line (METHODOLOGY §0 Identities). #}
{% macro latest_loaded(partition_by) -%}
    row_number() OVER (PARTITION BY {{ partition_by }} ORDER BY _load_id DESC, _line DESC) = 1
{%- endmacro %}

{# The key comes from the environment only (never from vars, which are logged). #}
{% macro pseudonym_key() -%}
    {%- set key = env_var('GOVPULSE_PSEUDONYM_KEY', '') -%}
    {%- if not key and execute -%}
        {{ exceptions.raise_compiler_error("GOVPULSE_PSEUDONYM_KEY is not set: the pipeline sets"
                                           ~ " it; for a manual dbt run export a key") }}
    {%- endif -%}
    {{ key | replace("'", "''") }}
{%- endmacro %}
