-- Why is a unit in place N: every published revision of every rating in long form, one row per
-- indicator with its value, place, weight and points (the ratings: macros/explanations.sql).
{{ config(materialized='view') }}
{{ rating_explanations(current=false) }}
