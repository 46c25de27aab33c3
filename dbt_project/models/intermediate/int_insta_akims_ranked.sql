-- Candidate "Insta-akims" rating of the week.
{{ ranked(ref('int_insta_akims_indicators'), 'insta_akims', [
    ('real_subscribers', 'more'),
    ('engaged_users', 'more'),
    ('er_real_pct', 'more'),
]) }}
