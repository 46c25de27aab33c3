with source as (
    select * from {{ source('inbox', 'incidents') }}
),

renamed as (
    select
        ---------- ids
        incident_id,
        body_id,
        municipality_id,
        platform,

        ---------- attributes
        category,
        url,
        answer_quality,
        satisfaction,

        ---------- timestamps (a missing response or resolution is normal data)
        detected_at,
        first_response_at,
        resolved_at,

        ---------- lineage
        _load_id,
        _line
    from source
)

select * from renamed
