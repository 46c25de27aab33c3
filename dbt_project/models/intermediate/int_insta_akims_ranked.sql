-- Candidate "Insta-akims" rating of the week.
{{ rank_rating('insta_akims', ref('int_insta_akims_indicators')) }}
