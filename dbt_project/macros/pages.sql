{# Identity columns of a page rated as a unit (from int_pages_active). #}
{% macro page_unit_columns() -%}
    page_id as unit_id,
    coalesce(owner_name, entity_name_ru) as unit_name,
    -- a page named by its owner has no Kazakh name of its own; the entity's is shown apart
    case when owner_name is null then entity_name_kk end as unit_name_kk,
    entity_name_ru as entity_name,
    platform,
    entity_id,
    url
{%- endmacro %}
