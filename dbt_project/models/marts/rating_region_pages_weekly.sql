-- Published history of the weekly rating: one revision per changed re-run (never rewritten).
{{ rating_history_config() }}
{{ append_revision('int_region_pages_ranked') }}
