{# Access to the methodology parameters (vars.methodology in dbt_project.yml). #}

{% macro param(name) -%}
    {{ return(var('methodology')[name]) }}
{%- endmacro %}

{# Readable name + hash of the whole parameter set: a changed parameter is a new version. #}
{% macro methodology_version() -%}
    {%- set m = var('methodology') -%}
    '{{ m["name"] }}+{{ local_md5(tojson(m, sort_keys=True))[:8] }}'
{%- endmacro %}

{# Round a computed indicator (double precision) to the published number of decimals. #}
{% macro rounded(expression) -%}
    round(({{ expression }})::DOUBLE, {{ param('round_digits') }})
{%- endmacro %}
