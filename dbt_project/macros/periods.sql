{# Reporting periods: [Friday 00:00, next Friday 00:00) in the methodology's time zone. #}

{% macro period_start() -%}
    {%- set value = var('period_start') | string -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
        {{ exceptions.raise_compiler_error("var period_start must be YYYY-MM-DD, got " ~ value) }}
    {%- endif -%}
    DATE '{{ value }}'
{%- endmacro %}

{% macro period_end() -%}
    ({{ period_start() }} + 7)
{%- endmacro %}

{# The instant a local calendar day starts (tzdata knows Kazakhstan's 2024-03-01 switch). #}
{% macro local_midnight(date_expression) -%}
    timezone('{{ param("timezone") }}', ({{ date_expression }})::TIMESTAMP)
{%- endmacro %}

{% macro period_start_ts() -%}
    {{ local_midnight(period_start()) }}
{%- endmacro %}

{% macro period_end_ts() -%}
    {{ local_midnight(period_end()) }}
{%- endmacro %}

{# Captures up to one grace period after the week still describe it. #}
{% macro capture_deadline_ts() -%}
    {{ local_midnight(period_end() ~ ' + ' ~ param('capture_grace_days')) }}
{%- endmacro %}

{% macro in_period(column) -%}
    ({{ column }} >= {{ period_start_ts() }} AND {{ column }} < {{ period_end_ts() }})
{%- endmacro %}

{# Active in the period (METHODOLOGY §0 Participation). #}
{% macro active_in_period(from_column, to_column) -%}
    (({{ from_column }} IS NULL OR {{ from_column }} < {{ period_end() }})
     AND ({{ to_column }} IS NULL OR {{ to_column }} >= {{ period_start() }}))
{%- endmacro %}

{# The columns every rating row starts with (period, methodology version). #}
{% macro rating_row_header() -%}
    {{ period_start() }} as period_start,
    {{ period_end() }} as period_end,
    {{ methodology_version() }} as methodology_version
{%- endmacro %}
