-- Published history of the month's fakes per body (METHODOLOGY §8), under the revisions of
-- fakes_monthly (a month's list may have no rows).
{{ rating_history_config(tags=['monthly']) }}
{{ append_list_revision('int_fakes_by_body', 'fakes_monthly') }}
