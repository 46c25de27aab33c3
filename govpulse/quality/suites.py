"""Great Expectations suites of govpulse, defined in code (the one source of truth).

One suite per raw dataset and one per candidate rating (weekly ratings, the monthly incident
rating, the annual table). The committed JSON under
`expectations/expectations/` is a reviewable copy written by

    uv run python -m govpulse.quality.suites

and a test checks that it equals what this module builds.

GX (1.24) cannot validate DuckDB through SQL, so every suite is validated against small pandas
dataframes ("frames") that `govpulse.quality.validation` computes with DuckDB. Each expectation
names its frame in `meta.frame`:

raw suites
  schema      the raw table's column names (one row, the columns of the table): all present
  column_types  one row per contract column of the table: (column_name, data_type)
  sample      a deterministic reservoir sample (at most N rows) of the run's rows (enums, ranges,
              key uniqueness, with `_file`/`_line` of offending rows)
  run_totals  one row of DuckDB aggregates over *all* rows of the run (null / out-of-set /
              out-of-range / duplicate-key counts; each must be 0)

candidate suites
  schema, column_types  as above, for the candidate table
  rows        the candidate rows of the period (one per unit; small)
  units       one row per unit of the union "expected units" ∪ "candidate units" (keyed by
              (group, unit_id) for a grouped rating), with 0/1 flags that must all be 0:
              `missing`, `unexpected`, `penalty_mismatch`, `period_mismatch`; grouped ratings add
              `place_beyond_group` (a place above the size of the unit's group), ratings with
              optional places add `place_null_mismatch` (a place NULL although its group has
              values, or set although the group has none)

Expected units depend on the rating (`Rating.unit_rule`): the registry units active in the week
(METHODOLOGY §0-4), the bodies active in the month with at least `incident_min_count` incidents
(§5), or the units of the year's published weeks (§7).

Expectations use the suite parameter `unit_count` (the number of candidate rows; of a grouped
rating, the size of its largest group) for the upper bound of places.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govpulse import contract
from govpulse import ratings as rating_catalogue
from govpulse.settings import PROJECT_DIR

if TYPE_CHECKING:  # pragma: no cover
    import great_expectations as gx

CONTEXT_ROOT = PROJECT_DIR / "expectations"

PLATFORMS = contract.PLATFORMS

# ---- DuckDB type names as information_schema.columns.data_type spells them ----
VARCHAR = ("VARCHAR",)
BIGINT = ("BIGINT",)
INTEGER = ("INTEGER",)
DOUBLE = ("DOUBLE",)
BOOLEAN = ("BOOLEAN",)
DATE = ("DATE",)
TIMESTAMPTZ = ("TIMESTAMP WITH TIME ZONE",)
WHOLE_NUMBER = ("BIGINT", "HUGEINT", "INTEGER")  # count indicators (SUM of BIGINT is HUGEINT)

# ---- frames ----
SCHEMA = "schema"
COLUMN_TYPES = "column_types"
SAMPLE = "sample"
RUN_TOTALS = "run_totals"
ROWS = "rows"
UNITS = "units"
RAW_FRAMES = (SCHEMA, COLUMN_TYPES, SAMPLE, RUN_TOTALS)
CANDIDATE_FRAMES = (SCHEMA, COLUMN_TYPES, ROWS, UNITS)

# Columns that hold private persons' data (mention authors and their texts, users who
# interacted, followers): their values never go into ops.validations or the Data Docs, which
# are published (govpulse.quality.validation, govpulse.publish.data_docs).
PRIVATE_COLUMNS = frozenset({"author_id", "text", "user_id", "follower_id", "username"})

UNIT_COUNT = "unit_count"  # suite parameter: number of candidate rows (of the largest group)
RAW_KEY = ("_load_id", "_line")


@dataclass(frozen=True)
class Col:
    """A column of a warehouse table and what its values must satisfy."""

    name: str
    types: tuple[str, ...] = VARCHAR
    required: bool = False  # NOT NULL
    values: tuple[str, ...] | None = None  # enum
    min: float | None = None
    max: float | None = None

    @property
    def ranged(self) -> bool:
        return self.min is not None or self.max is not None


LINEAGE = (
    Col("_load_id", BIGINT, required=True),
    Col("_run_id", VARCHAR, required=True),
    Col("_file", VARCHAR, required=True),
    Col("_line", BIGINT, required=True),
    Col("_loaded_at", TIMESTAMPTZ, required=True),
)


@dataclass(frozen=True)
class RawDataset:
    suite: str
    table: str  # schema-qualified
    columns: tuple[Col, ...]

    @property
    def all_columns(self) -> tuple[Col, ...]:
        return self.columns + LINEAGE


def _raw_column(column: contract.Column) -> Col:
    """The raw table's column as the inbox contract defines it (type, required, enum, range)."""
    low, high = column.bounds
    types = TIMESTAMPTZ if column.kind == contract.TIMESTAMP else (column.sql_type,)
    return Col(column.name, types, required=column.required, values=column.values or None,
               min=low, max=high)


# One suite per inbox dataset, derived from the contract (govpulse.contract.DATASETS).
RAW_DATASETS: dict[str, RawDataset] = {
    f"raw_{name}": RawDataset(f"raw_{name}", f"raw.{name}",
                              tuple(_raw_column(c) for c in columns))
    for name, columns in contract.DATASETS.items()
}


# run kind (ops.runs.kind) -> period of its ratings; SQL interval of a period
PERIOD_OF_KIND = {"weekly": "week", "monthly": "month", "annual": "year"}
PERIOD_INTERVALS = {
    "week": "INTERVAL 7 DAY",
    "month": "INTERVAL 1 MONTH",
    "year": "INTERVAL 1 YEAR",
}

# which units a rating must contain (govpulse.quality.validation computes them per rule)
REGISTRY_UNITS = "registry"  # weekly: registry units active in the week (§0-4)
INCIDENT_BODIES = "incident_bodies"  # monthly: active bodies with enough incidents (§5)
WEEKLY_MART_UNITS = "weekly_mart_units"  # annual: units of the year's published weeks (§7)


@dataclass(frozen=True)
class Rating:
    key: str  # the catalogue's name (govpulse.ratings), EMPTY_INPUTS key
    suite: str
    table: str  # candidate table, schema-qualified
    indicators: tuple[Col, ...]  # in METHODOLOGY order
    extra: tuple[Col, ...] = ()  # page / insta / group columns
    period: str = "week"  # week | month | year: period_end = period_start + 1 period
    # places are per group of this column (incident body groups, the annual table's ratings);
    # the column must be one of `extra`
    group: str | None = None
    # indicators whose place is NULL in a group without any value (annual expert score)
    optional_places: tuple[str, ...] = ()
    unit_rule: str = REGISTRY_UNITS
    # which registry units are rated (METHODOLOGY §1-4, unit_rule REGISTRY_UNITS)
    entity_level: str | None = None  # people: registry.entities.level
    page_kind: str | None = None  # pages: registry.pages.page_kind
    page_platform: str | None = None  # insta-akims: registry.pages.platform
    weights_key: str = ""  # key of methodology.weights (default: key)

    @property
    def weights(self) -> str:
        return self.weights_key or self.key

    @property
    def kind(self) -> str:
        """The run kind (ops.runs.kind) that validates this rating."""
        return next(k for k, p in PERIOD_OF_KIND.items() if p == self.period)

    @property
    def unit_key(self) -> tuple[str, ...]:
        """Columns identifying a row of the period."""
        return (self.group, "unit_id") if self.group else ("unit_id",)

    @property
    def columns(self) -> tuple[Col, ...]:
        return (
            Col("period_start", DATE, required=True),
            Col("period_end", DATE, required=True),
            Col("methodology_version", required=True),
            Col("unit_id", required=True),
            Col("unit_name", required=True),
            Col("unit_name_kk"),
            *self.extra,
            *self.indicators,
            *(self.place(c.name) for c in self.indicators),
            Col("penalty_points", DOUBLE, required=True, min=0),
            self.place("final_place"),
        )

    def place(self, indicator: str) -> Col:
        name = indicator if indicator == "final_place" else f"place_{indicator}"
        return Col(name, INTEGER, required=indicator not in self.optional_places, min=1)


# Columns a candidate has besides its indicators, by rating: validation detail the rating
# catalogue (govpulse.ratings) does not declare; a rating not listed has none.
_PAGE_EXTRA = (
    Col("platform", required=True, values=PLATFORMS),
    Col("entity_id", required=True),
    Col("url"),
)
_EXTRA: dict[str, tuple[Col, ...]] = {
    "region_pages": _PAGE_EXTRA,
    "district_pages": _PAGE_EXTRA,
    "insta_akims": (
        Col("platform", required=True, values=("instagram",)),
        Col("entity_id", required=True),
        Col("url"),
        Col("subscribers", WHOLE_NUMBER, min=0),
        Col("bot_share", DOUBLE, required=True, min=0, max=1),
        Col("bots_unverified", BOOLEAN, required=True),
    ),
    "incidents": (
        Col("body_group", required=True),
        Col("incidents", WHOLE_NUMBER, required=True, min=0),
        Col("answered_pct", DOUBLE, min=0, max=100),
        Col("overdue_pct", DOUBLE, min=0, max=100),
    ),
    "annual": (
        # year(date) is BIGINT in DuckDB; either integer type is the year
        Col("year", ("INTEGER", "BIGINT"), required=True),
        Col("rating", required=True, values=tuple(
            r.name for r in rating_catalogue.of_kind("weekly"))),
        Col("weeks_rated", WHOLE_NUMBER, required=True, min=1),
        Col("top_three", BOOLEAN),
    ),
}
_INDICATOR_TYPES = {"whole": WHOLE_NUMBER, "double": DOUBLE}


def _from_catalogue(r: rating_catalogue.Rating) -> Rating:
    """A candidate check of a catalogued rating (its suite is `<name>_ranked`)."""
    unit = r.unit or {}
    return Rating(
        r.name,
        f"{r.name}_ranked",
        f"intermediate.{r.candidate}",
        indicators=tuple(
            Col(i.name, _INDICATOR_TYPES[i.type], required=i.required, min=i.min, max=i.max)
            for i in r.indicators
        ),
        extra=_EXTRA.get(r.name, ()),
        period=r.period,
        group=r.group,
        optional_places=tuple(i.name for i in r.indicators if i.optional),
        unit_rule=unit.get("rule", REGISTRY_UNITS),
        entity_level=unit.get("entity_level"),
        page_kind=unit.get("page_kind"),
        page_platform=unit.get("page_platform"),
        weights_key=r.weights,
    )


RATINGS: dict[str, Rating] = {
    r.suite: r for r in map(_from_catalogue, rating_catalogue.catalogue().values())
}

# the weekly ratings the annual table summarises (its `rating` column)
WEEKLY_RATINGS = tuple(r.key for r in RATINGS.values() if r.period == "week")


@dataclass(frozen=True)
class EmptyInputs:
    """How the candidate check says a rating has no input for any unit (issue 14)."""

    rating: str  # the rating, as a person names it
    missing: str  # what is missing
    units: str  # the units, plural
    has: str  # what a unit with inputs has
    fix: str  # where to look ({period}: week | month)


_PAGE_FIX = ("check that the inbox's page_snapshots/ and page_posts/ folders (or the platforms' "
             "fetch) hold this {period}'s data")
EMPTY_INPUTS = {
    "people": EmptyInputs(
        "people rating", "no mentions landed or tied to any region", "regions", "a mention",
        "check that the inbox's mentions/ folder holds this {period}'s export"),
    "region_pages": EmptyInputs(
        "regional akimat pages rating", "no snapshot or post of any regional akimat page",
        "pages", "subscribers or engagement", _PAGE_FIX),
    "district_pages": EmptyInputs(
        "district akimat pages rating", "no snapshot or post of any district akimat page",
        "pages", "subscribers or engagement", _PAGE_FIX),
    "insta_akims": EmptyInputs(
        "Insta-akims rating", "no snapshot, post or interaction of any Insta-akim page",
        "pages", "real subscribers or engaged users",
        "check that the inbox's page_snapshots/, page_posts/ and post_interactions/ folders "
        "(or the platforms' fetch) hold this {period}'s data"),
    "incidents": EmptyInputs(
        "incident rating", "no incidents landed for the month", "bodies", "incidents",
        "check that the inbox's incidents/ folder holds this {period}'s export"),
}


def ratings_of(kind: str) -> list[Rating]:
    """The candidate ratings a run of `kind` (weekly | monthly | annual) validates."""
    if kind not in PERIOD_OF_KIND:
        raise ValueError(f"unknown run kind {kind!r}; expected one of {sorted(PERIOD_OF_KIND)}")
    return [r for r in RATINGS.values() if r.period == PERIOD_OF_KIND[kind]]


# ---- run_totals column names (computed by govpulse.quality.validation with DuckDB) ----
def null_count(column: str) -> str:
    return f"{column}__null_count"


def not_in_set_count(column: str) -> str:
    return f"{column}__not_in_set_count"


def out_of_range_count(column: str) -> str:
    return f"{column}__out_of_range_count"


def future_count(column: str) -> str:
    return f"{column}__future_count"


# A timestamp more than this after the validation is a broken export clock, not data.
FUTURE_TOLERANCE_DAYS = contract.FUTURE_TOLERANCE_DAYS


def is_event_time(c: Col) -> bool:
    """Timestamps that describe the data (lineage timestamps are the pipeline's own)."""
    return c.types == TIMESTAMPTZ and not c.name.startswith("_")


KEY_DUPLICATE_COUNT = "key__duplicate_count"


# ---- suite builders ----
def _gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    return gx


def _schema_expectations(columns: tuple[Col, ...]) -> list:
    E = _gx().expectations
    return [
        E.ExpectTableColumnsToMatchSet(
            column_set=[c.name for c in columns],
            exact_match=False,
            description="All contract columns are present (extra columns are allowed).",
            meta={"frame": SCHEMA},
        ),
        E.ExpectColumnPairValuesToBeInSet(
            column_A="column_name",
            column_B="data_type",
            value_pairs_set=[[c.name, t] for c in columns for t in c.types],
            description="Every contract column has its DuckDB type.",
            meta={"frame": COLUMN_TYPES},
        ),
    ]


def _value_expectations(columns: tuple[Col, ...], frame: str) -> list:
    """Enum and range checks, row by row."""
    E = _gx().expectations
    out: list = []
    for c in columns:
        if c.values is not None:
            out.append(
                E.ExpectColumnValuesToBeInSet(
                    column=c.name, value_set=list(c.values), meta={"frame": frame}
                )
            )
        if c.ranged:
            out.append(
                E.ExpectColumnValuesToBeBetween(
                    column=c.name, min_value=c.min, max_value=c.max, meta={"frame": frame}
                )
            )
    return out


def _zero(column: str, description: str) -> Any:
    E = _gx().expectations
    return E.ExpectColumnMaxToBeBetween(
        column=column,
        min_value=0,
        max_value=0,
        description=description,
        meta={"frame": RUN_TOTALS},
    )


def raw_suite(dataset: RawDataset) -> gx.ExpectationSuite:
    gx = _gx()
    E = gx.expectations
    cols = dataset.all_columns
    expectations = _schema_expectations(cols)
    expectations += _value_expectations(cols, SAMPLE)
    expectations.append(
        E.ExpectCompoundColumnsToBeUnique(
            column_list=list(RAW_KEY),
            description="A raw row is identified by its load and line.",
            meta={"frame": SAMPLE},
        )
    )
    for c in cols:
        if c.required:
            expectations.append(_zero(null_count(c.name), f"No NULL `{c.name}` in the whole run."))
    for c in cols:
        if c.values is not None:
            expectations.append(
                _zero(not_in_set_count(c.name), f"No unknown `{c.name}` in the whole run.")
            )
        if c.ranged:
            expectations.append(
                _zero(
                    out_of_range_count(c.name),
                    f"`{c.name}` within [{c.min}, {c.max}] in the whole run.",
                )
            )
        if is_event_time(c):
            expectations.append(
                _zero(
                    future_count(c.name),
                    f"No `{c.name}` more than {FUTURE_TOLERANCE_DAYS} day after validation "
                    "(a clock or export error).",
                )
            )
    expectations.append(_zero(KEY_DUPLICATE_COUNT, "(_load_id, _line) is unique in the whole run."))
    return gx.ExpectationSuite(
        name=dataset.suite,
        expectations=expectations,
        meta={"table": dataset.table, "frames": list(RAW_FRAMES)},
    )


def rating_suite(rating: Rating) -> gx.ExpectationSuite:
    gx = _gx()
    E = gx.expectations
    cols = rating.columns
    expectations = _schema_expectations(cols)
    for c in cols:
        if c.required:
            expectations.append(
                E.ExpectColumnValuesToNotBeNull(column=c.name, meta={"frame": ROWS})
            )
    if rating.group:
        expectations.append(
            E.ExpectCompoundColumnsToBeUnique(
                column_list=list(rating.unit_key),
                description=f"One row per unit of a `{rating.group}`.",
                meta={"frame": ROWS},
            )
        )
    else:
        expectations.append(
            E.ExpectColumnValuesToBeUnique(
                column="unit_id", description="One row per unit.", meta={"frame": ROWS}
            )
        )
    expectations.append(
        E.ExpectColumnUniqueValueCountToBeBetween(
            column="methodology_version",
            min_value=None,
            max_value=1,
            description="One methodology version per period.",
            meta={"frame": ROWS},
        )
    )
    for c in cols:
        if c.values is not None:
            expectations.append(
                E.ExpectColumnValuesToBeInSet(
                    column=c.name, value_set=list(c.values), meta={"frame": ROWS}
                )
            )
        if c.name.startswith("place_") or c.name == "final_place":
            of_units = f" of the largest `{rating.group}`" if rating.group else ""
            expectations.append(
                E.ExpectColumnValuesToBeBetween(
                    column=c.name,
                    min_value=1,
                    max_value={"$PARAMETER": UNIT_COUNT},
                    description=f"`{c.name}` is a place between 1 and the number of units"
                    f"{of_units}.",
                    meta={"frame": ROWS},
                )
            )
        elif c.ranged:
            expectations.append(
                E.ExpectColumnValuesToBeBetween(
                    column=c.name, min_value=c.min, max_value=c.max, meta={"frame": ROWS}
                )
            )
    missing, unexpected = _UNIT_RULE_DESCRIPTIONS[rating.unit_rule]
    penalty = "penalty_points = Σ place_<indicator> × weight"
    if rating.optional_places:
        penalty += " (a NULL optional place adds 0)"
    starts = {"week": "", "month": "the first day of a month", "year": "1 January"}
    period = f"period_end = period_start + 1 {rating.period}."
    if starts[rating.period]:
        period = f"period_start is {starts[rating.period]} and {period}"
    flags = [
        ("missing", missing),
        ("unexpected", unexpected),
        ("penalty_mismatch", f"{penalty}; weights from dbt_project.yml vars.methodology.weights."),
        ("period_mismatch", period),
    ]
    if rating.group:
        flags.append(
            (
                "place_beyond_group",
                f"Places are per `{rating.group}`: none exceeds the number of units of the group.",
            )
        )
    for indicator in rating.optional_places:
        flags.append(
            (
                "place_null_mismatch",
                f"place_{indicator} is NULL exactly for the rows of a `{rating.group}` without any "
                f"`{indicator}` (otherwise NULL values rank last, METHODOLOGY §0).",
            )
        )
    expectations += [
        E.ExpectColumnValuesToBeInSet(
            column=column, value_set=[0], description=description, meta={"frame": UNITS}
        )
        for column, description in flags
    ]
    return gx.ExpectationSuite(
        name=rating.suite,
        expectations=expectations,
        meta={
            "table": rating.table,
            "rating": rating.key,
            "period": rating.period,
            "frames": list(CANDIDATE_FRAMES),
        },
    )


# (missing, unexpected) descriptions of each unit rule
_UNIT_RULE_DESCRIPTIONS = {
    REGISTRY_UNITS: (
        "Every unit active in the registry during the period is in the rating "
        "(METHODOLOGY §0 Participation).",
        "Only units active in the registry during the period are in the rating.",
    ),
    INCIDENT_BODIES: (
        "Every body active in the month with at least incident_min_count incidents of the month "
        "(intermediate.int_incidents_month) is rated, in its body_group (METHODOLOGY §5).",
        "Only bodies active in the month with at least incident_min_count incidents are rated.",
    ),
    WEEKLY_MART_UNITS: (
        "Every unit of a published week of the year (weekly marts, current revisions) is in the "
        "annual table of its rating (METHODOLOGY §7).",
        "Only units of the year's published weeks are in the annual table.",
    ),
}


# one function per suite
def raw_mentions() -> gx.ExpectationSuite:
    return raw_suite(RAW_DATASETS["raw_mentions"])


def raw_page_snapshots() -> gx.ExpectationSuite:
    return raw_suite(RAW_DATASETS["raw_page_snapshots"])


def raw_page_posts() -> gx.ExpectationSuite:
    return raw_suite(RAW_DATASETS["raw_page_posts"])


def raw_post_interactions() -> gx.ExpectationSuite:
    return raw_suite(RAW_DATASETS["raw_post_interactions"])


def raw_follower_audits() -> gx.ExpectationSuite:
    return raw_suite(RAW_DATASETS["raw_follower_audits"])


def raw_incidents() -> gx.ExpectationSuite:
    return raw_suite(RAW_DATASETS["raw_incidents"])


def raw_fakes() -> gx.ExpectationSuite:
    return raw_suite(RAW_DATASETS["raw_fakes"])


# ---- the monthly fakes report (METHODOLOGY §8): a report, not a rating ----
FAKES_REPORT = "fakes_report"
FAKES_TABLE = "intermediate.int_fakes_figures"
FAKES_COLUMNS = (
    Col("period_start", DATE, required=True),
    Col("period_end", DATE, required=True),
    Col("methodology_version", required=True),
    Col("fakes_found", WHOLE_NUMBER, required=True, min=0),
    Col("fakes_refuted", WHOLE_NUMBER, required=True, min=0),
    Col("refuted_pct", DOUBLE, min=0, max=100),
    Col("median_hours_to_refutation", DOUBLE, min=0),
    Col("refuted_within_24h_pct", DOUBLE, min=0, max=100),
    Col("reach_fakes", WHOLE_NUMBER, required=True, min=0),
    Col("reach_refutations", WHOLE_NUMBER, required=True, min=0),
    Col("reach_ratio", DOUBLE, min=0),
)
# 0/1 flags of the candidate's one row (govpulse.quality.fakes_frames), each with what it means
FAKES_FLAGS = (
    ("found_mismatch",
     "fakes_found equals the distinct fake_ids first seen in the month "
     "(intermediate.int_fakes_month): the report counts each fake once."),
    ("refuted_beyond_found",
     "fakes_refuted and the fakes refuted within 24 hours are at most fakes_found."),
    ("lists_mismatch",
     "The unrefuted list holds fakes_found − fakes_refuted fakes and the per-body counts add up "
     "to at most fakes_found."),
    ("row_count_mismatch",
     "At most one row of figures for the month (none when the run does not produce the fakes "
     "report)."),
)


def fakes_report() -> gx.ExpectationSuite:
    """The candidate fakes report of the month (intermediate.int_fakes_figures)."""
    gx = _gx()
    E = gx.expectations
    expectations = _schema_expectations(FAKES_COLUMNS)
    expectations += [E.ExpectColumnValuesToNotBeNull(column=c.name, meta={"frame": ROWS})
                     for c in FAKES_COLUMNS if c.required]
    expectations += _value_expectations(FAKES_COLUMNS, ROWS)
    expectations += [
        E.ExpectColumnValuesToBeInSet(
            column=column, value_set=[0], description=description, meta={"frame": UNITS})
        for column, description in FAKES_FLAGS
    ]
    return gx.ExpectationSuite(
        name=FAKES_REPORT,
        expectations=expectations,
        meta={"table": FAKES_TABLE, "period": "month", "frames": list(CANDIDATE_FRAMES)},
    )


PLATFORMS_FRAME = "platforms"
MIN_PAGE_COMPLETENESS = "min_page_completeness"  # suite parameter, from the environment


def fetch_completeness() -> gx.ExpectationSuite:
    """Share of a platform's registry pages the connectors fetched in the run (§ issue 3)."""
    gx = _gx()
    E = gx.expectations
    return gx.ExpectationSuite(
        name="fetch_completeness",
        expectations=[
            E.ExpectColumnValuesToBeBetween(
                column="completeness",
                min_value={"$PARAMETER": MIN_PAGE_COMPLETENESS},
                max_value=1,
                description="Enough of each fetched platform's pages were fetched to publish "
                "(GOVPULSE_MIN_PAGE_COMPLETENESS, default 0.9).",
                meta={"frame": PLATFORMS_FRAME},
            )
        ],
        meta={"table": "ops.fetch_pages", "frames": [PLATFORMS_FRAME]},
    )


def _rating_suite(suite: str) -> Callable[[], gx.ExpectationSuite]:
    """The suite builder of a catalogued rating (named like the suite, as SUITES keys them)."""

    def build() -> gx.ExpectationSuite:
        return rating_suite(RATINGS[suite])

    build.__name__ = suite
    return build


SUITES = {
    f.__name__: f
    for f in (
        raw_mentions,
        raw_page_snapshots,
        raw_page_posts,
        raw_post_interactions,
        raw_follower_audits,
        raw_incidents,
        raw_fakes,
        fetch_completeness,
        fakes_report,
        *(_rating_suite(suite) for suite in RATINGS),  # one per catalogued rating
    )
}


def build_suites() -> dict[str, gx.ExpectationSuite]:
    return {name: build() for name, build in SUITES.items()}


def normalized(suite_json: dict) -> dict:
    """A suite's JSON without what the store adds (ids, GX version): what reviewers compare."""
    out = {k: v for k, v in suite_json.items() if k != "id"}
    out["meta"] = {
        k: v for k, v in (out.get("meta") or {}).items() if k != "great_expectations_version"
    }
    out["expectations"] = [
        {k: v for k, v in e.items() if k not in ("id", "rendered_content")}
        for e in out.get("expectations", [])
    ]
    return out


def file_context(context_root: Path = CONTEXT_ROOT):
    """The GX file data context rooted at `expectations/` (scaffolds `uncommitted/` if missing)."""
    import warnings

    gx = _gx()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "An existing great_expectations.yml was found here"
        return gx.get_context(mode="file", context_root_dir=context_root)


def write_suites(context_root: Path = CONTEXT_ROOT) -> dict[str, str]:
    """Write the code-defined suites into the file context; suites that did not change keep
    their file (and ids). Returns suite name -> 'created' | 'updated' | 'unchanged' | 'deleted'."""
    context = file_context(context_root)
    built = build_suites()
    status: dict[str, str] = {}
    existing = {s.name: s for s in context.suites.all()}
    for name, suite in built.items():
        old = existing.get(name)
        if old is not None and normalized(old.to_json_dict()) == normalized(suite.to_json_dict()):
            status[name] = "unchanged"
            continue
        if old is not None:
            context.suites.delete(name)
        context.suites.add(suite)
        status[name] = "updated" if old is not None else "created"
    for name in existing.keys() - built.keys():
        context.suites.delete(name)
        status[name] = "deleted"
    return status


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0]) if argv else CONTEXT_ROOT
    for name, state in sorted(write_suites(root).items()):
        print(f"{state:9} {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
