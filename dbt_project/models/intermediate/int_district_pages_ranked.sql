-- Candidate rating of official district akimat pages of the week.
{% set pages %}
    (select * exclude (page_kind) from {{ ref('int_official_page_indicators') }}
     where page_kind = 'official_district')
{% endset %}
{{ rank_rating('district_pages', pages) }}
