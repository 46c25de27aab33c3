-- Candidate "What people say" rating of the week (validated before it is published).
{{ ranked(ref('int_people_indicators'), 'people', [
    ('mentions', 'more'),
    ('engagement', 'more'),
    ('engagement_per_1k_pop', 'more'),
    ('sentiment_audience_net', 'more'),
]) }}
