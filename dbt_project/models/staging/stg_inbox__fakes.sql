with source as (
    select * from {{ source('inbox', 'fakes') }}
),

renamed as (
    select
        ---------- ids
        fake_id,
        body_id,
        platform,

        ---------- attributes
        claim,
        url,
        reach,
        refutation_url,
        refutation_reach,

        ---------- timestamps (refuted_at is empty while the fake is unrefuted)
        first_seen_at,
        refuted_at,

        ---------- lineage
        _load_id,
        _line
    from source
)

select * from renamed
