-- Mentions from the canonical inbox (and social-listening exports) and from platform searches.
{{ config(materialized='view') }}
{{ union_staged('mentions') }}
