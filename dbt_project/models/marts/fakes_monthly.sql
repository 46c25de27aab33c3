-- Published history of the month's fakes report figures (METHODOLOGY §8), revisioned like the
-- ratings; a changed unrefuted or per-body list is a changed report (lists_fingerprint).
{{ rating_history_config(tags=['monthly']) }}
{{ append_revision('int_fakes_figures', keys=['period_start'], with_movement=false) }}
