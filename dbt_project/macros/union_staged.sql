{#
  Every staged input of one kind (page_snapshots, page_posts, mentions): the canonical inbox
  plus the platform connectors that produce that kind. Add a platform here when its staging
  models exist (dbt must see each ref statically).
#}
{% macro union_staged(kind) -%}
    {%- set api_models = {
        'page_snapshots': ['stg_vk__page_snapshots', 'stg_ok__page_snapshots',
                           'stg_telegram__page_snapshots', 'stg_youtube__page_snapshots',
                           'stg_x__page_snapshots', 'stg_instagram__page_snapshots',
                           'stg_facebook__page_snapshots'],
        'page_posts': ['stg_vk__page_posts', 'stg_ok__page_posts', 'stg_telegram__page_posts',
                       'stg_youtube__page_posts', 'stg_x__page_posts',
                       'stg_instagram__page_posts', 'stg_facebook__page_posts'],
        'mentions': ['stg_vk__mentions'],
    }[kind] -%}
    select * from {{ ref('stg_inbox__' ~ kind) }}
    {%- for model in api_models %}
    union all by name
    select * from {{ ref(model) }}
    {%- endfor %}
{%- endmacro %}
