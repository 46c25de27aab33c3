{#
  A native API record staging keeps: one that landing did not quarantine. Landing checks every
  record of a capture against the rule of its shape (ingestion/native_landing.py RECORD_SHAPES:
  an id, a publication time, whole-number counters) and writes the bad ones to ops.quarantine
  with dataset 'api_<kind>', the capture's file and the record's 1-based position (staging's
  _line). Staging leaves out exactly those, so the quarantine and the staged rows cannot
  disagree and no staging data test meets a record the rule rejected.
#}
{% macro api_record_kept(kind, file, line) -%}
    not exists (
        select 1 from {{ source('ops', 'quarantine') }} as quarantined
        where quarantined.dataset = 'api_{{ kind }}'
          and quarantined.file = {{ file }}
          and quarantined.line = {{ line }}
    )
{%- endmacro %}
