-- Post captures from the canonical inbox and from every platform connector's captures.
{{ config(materialized='view') }}
{{ union_staged('page_posts') }}
