-- Candidate "What people say" rating of the week (validated before it is published).
{{ rank_rating('people', ref('int_people_indicators')) }}
