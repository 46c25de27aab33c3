{#
  Reporting periods in the territory's time zone: a week [Friday 00:00, next Friday 00:00),
  a calendar month, or a calendar year (var period_kind; the pipeline sets it with period_start).
#}

{% macro period_start() -%}
    {%- set value = var('period_start') | string -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
        {{ exceptions.raise_compiler_error("var period_start must be YYYY-MM-DD, got " ~ value) }}
    {%- endif -%}
    DATE '{{ value }}'
{%- endmacro %}

{% macro period_interval() -%}
    {%- set kind = var('period_kind', 'week') -%}
    {%- set intervals = {'week': "INTERVAL 7 DAY", 'month': "INTERVAL 1 MONTH",
                         'year': "INTERVAL 1 YEAR"} -%}
    {%- if kind not in intervals -%}
        {{ exceptions.raise_compiler_error("var period_kind must be week, month or year, got "
                                           ~ kind) }}
    {%- endif -%}
    {{ intervals[kind] }}
{%- endmacro %}

{# Exclusive end of the period (the day after its last day). #}
{% macro period_end() -%}
    ({{ period_start() }} + {{ period_interval() }})::DATE
{%- endmacro %}

{# First day of the period before this one (movement compares with it). #}
{% macro previous_period_start() -%}
    ({{ period_start() }} - {{ period_interval() }})::DATE
{%- endmacro %}

{#
  The territory's IANA zone (METHODOLOGY §0): the pipeline passes it as var territory_timezone
  (from <registry>/territory.yml); without it (unit tests, older invocations) the methodology's
  default zone. The zone is the territory's, not a methodology parameter: it does not change
  methodology_version.
#}
{% macro territory_timezone() -%}
    {%- set zone = var('territory_timezone', none) or param('timezone') -%}
    {%- if not modules.re.fullmatch('[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*', zone) -%}
        {{ exceptions.raise_compiler_error("var territory_timezone must be an IANA zone, got "
                                           ~ zone) }}
    {%- endif -%}
    {{ return(zone) }}
{%- endmacro %}

{# The instant a local calendar day starts in the territory's zone (tzdata knows Kazakhstan's
   2024-03-01 switch and every DST rule). #}
{% macro local_midnight(date_expression) -%}
    timezone('{{ territory_timezone() }}', ({{ date_expression }})::TIMESTAMP)
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
