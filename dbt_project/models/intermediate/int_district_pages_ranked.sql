-- Candidate rating of official district akimat pages of the week.
{% set pages %}
    (select * exclude (page_kind) from {{ ref('int_official_page_indicators') }}
     where page_kind = 'official_district')
{% endset %}
{{ ranked(pages, 'district_pages', [
    ('subscribers', 'more'),
    ('engagement', 'more'),
    ('er_subscribers_pct', 'more'),
    ('engagement_per_1k_pop', 'more'),
]) }}
