-- Candidate rating of official region akimat pages of the week.
{% set pages %}
    (select * exclude (page_kind) from {{ ref('int_official_page_indicators') }}
     where page_kind = 'official_region')
{% endset %}
{{ rank_rating('region_pages', pages) }}
