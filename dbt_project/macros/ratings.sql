{#
  The rating catalogue (var `ratings` of dbt_project.yml, outside the methodology parameters):
  what each rating is, declared once and read here and by govpulse/ratings.py.
#}

{# Every rating, in catalogue order, with its defaults filled in (name, weights, group). #}
{% macro rating_catalogue() -%}
    {%- set out = [] -%}
    {%- for name, r in var('ratings').items() -%}
        {%- set rating = {} -%}
        {%- do rating.update(r) -%}
        {%- do rating.update({
            'name': name,
            'weights': r.get('weights') or name,
            'group': r.get('group'),
            'indicators': r['indicators'],
        }) -%}
        {%- do out.append(rating) -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{# One rating of the catalogue by name; an unknown name stops the compilation. #}
{% macro catalogued_rating(name) -%}
    {%- for r in rating_catalogue() if r.name == name -%}
        {{ return(r) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("rating '" ~ name
                                       ~ "' is not in the rating catalogue (var ratings)") }}
{%- endmacro %}

{# The rating whose candidate or history model this relation is (penalty tests); none if not. #}
{% macro rating_of_relation(relation) -%}
    {%- for r in rating_catalogue() if relation.identifier in (r.candidate, r.history) -%}
        {{ return(r) }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{# (name, better) pairs of a rating's indicators: the shape ranked() and the explanations take. #}
{% macro indicator_pairs(rating) -%}
    {%- set pairs = [] -%}
    {%- for i in rating.indicators %}{% do pairs.append((i.name, i.better)) %}{% endfor -%}
    {{ return(pairs) }}
{%- endmacro %}

{# A candidate model's ranking: places, penalty points and final place of a catalogued rating. #}
{% macro rank_rating(name, relation) -%}
    {%- set r = catalogued_rating(name) -%}
    {%- set optional = [] -%}
    {%- for i in r.indicators if i.get('optional') %}{% do optional.append(i.name) %}{% endfor -%}
    {{ ranked(relation, r.weights, indicator_pairs(r), partition_by=r.group, optional=optional) }}
{%- endmacro %}

{# run kind (ops.runs.kind, marts.withdrawals.kind) of a period kind #}
{% macro run_kind_of(period) -%}
    {{ return({'week': 'weekly', 'month': 'monthly', 'year': 'annual'}[period]) }}
{%- endmacro %}
