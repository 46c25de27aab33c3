-- Page snapshots from the canonical inbox and from every platform connector's captures, in one
-- staged shape (the latest loaded copy of a capture still wins: load ids are global).
{{ config(materialized='view') }}
{{ union_staged('page_snapshots') }}
