"""Print the top of each published rating (what `make demo` ends with)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb

from govpulse.ratings import catalogue, of_kind
from govpulse.warehouse.sql import first_row

# Relation, Russian title, columns shown (indicators last), period kind, column of separately
# ranked groups: one per rating of the catalogue (govpulse.ratings), in its order.
RATINGS: tuple[tuple[str, str, tuple[str, ...], str, str | None], ...] = tuple(
    (r.current, r.title, tuple(c.name for c in r.shown) + r.indicator_names, r.period, r.group)
    for r in catalogue().values()
)
PERIODS = {"week": "неделя с {:%d.%m.%Y}", "month": "месяц {:%m.%Y}", "year": "{:%Y} год"}
# Names of the groups ranked separately, when the registry has no body_groups.csv
# (govpulse.publish.body_groups): the Kazakh wording.
GROUPS = {
    "municipal": "акиматы районов и городов", "regional_service": "региональные службы",
    "ministry": "министерства", "people": "Что говорит народ",
    "region_pages": "страницы акиматов областей", "district_pages": "страницы акиматов районов",
    "insta_akims": "Инста-акимы",
}


# Column -> Russian label, from the catalogue's indicators and shown columns.
LABELS: dict[str, str] = {
    name: label for r in catalogue().values()
    for name, label in [*((c.name, c.label) for c in r.shown),
                        *((i.name, i.label) for i in r.indicators)]
}


def _arrow(movement: int | None) -> str:
    if movement is None:
        return "new"
    return f"▲{movement}" if movement > 0 else (f"▼{-movement}" if movement < 0 else "=")


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", " ")
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")
    return str(value)


def show(published_file: Path, top: int = 5, groups: Mapping[str, str] | None = None,
         weekly: bool = True) -> str:
    """The top of each published rating; `groups` names the body groups (code -> Russian name,
    body_groups.group_names(load_group_labels(registry))), default GROUPS. `weekly=False` (a
    territory without weekly ratings) leaves out the weekly ratings' "no week yet" lines."""
    if not published_file.exists():
        raise FileNotFoundError(f"{published_file} does not exist yet: run a week first")
    lines = []
    with duckdb.connect(str(published_file), read_only=True) as con:
        published = {r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts'").fetchall()}
        shown: list[str] = []
        for relation, title, indicators, period, group in RATINGS:
            latest = (first_row(con.execute(f"SELECT max(period_start) FROM marts.{relation}"))[0]
                      if relation in published else None)
            if latest is None:
                if period == "week" and weekly:
                    lines.append(f"\n{title}: no published week yet")
                continue
            shown.append(relation)
            lines += _table(con, relation, title, indicators, PERIODS[period].format(latest),
                            latest, group, top, groups or GROUPS)
        lines += _fakes(con, published)
        lines += _withdrawn(con, published)
    lines.append(f"\nPublished file: {published_file}")
    lines.append(
        "Query it: uv run python -c \"import duckdb; print(duckdb.connect("
        f"'{published_file}', read_only=True).sql('FROM marts."
        f"{(shown or ['rating_people_weekly_current'])[0]}'))\""
    )
    return "\n".join(lines)


def _fakes(con: duckdb.DuckDBPyConnection, views: set[str]) -> list[str]:
    """The latest month of the fakes report (METHODOLOGY §8), when the territory makes it."""
    if "fakes_monthly_current" not in views:
        return []
    row = con.execute(
        "SELECT period_start, revision, fakes_found, fakes_refuted, refuted_pct, "
        "median_hours_to_refutation, refuted_within_24h_pct, reach_fakes, reach_refutations "
        "FROM marts.fakes_monthly_current ORDER BY period_start DESC LIMIT 1").fetchone()
    if row is None:
        return []
    start, revision, *figures = row
    found, refuted, pct, median, within, reach, refuting = (_fmt(v) for v in figures)
    return [f"\nФейки — {PERIODS['month'].format(start)} (ревизия {revision}): найдено {found}, "
            f"опровергнуто {refuted} ({pct} %), медиана {median} ч, за 24 ч {within} %, "
            f"охват фейков {reach}, опровержений {refuting}"]


# the _current view that tells whether a kind's period is published (not withdrawn)
CURRENT_OF_KIND = {kind: of_kind(kind)[0].current for kind in ("weekly", "monthly", "annual")
                   if of_kind(kind)}


def _withdrawn(con: duckdb.DuckDBPyConnection, views: set[str]) -> list[str]:
    """Periods withdrawn (govpulse withdraw) and not published again since: said, not shown."""
    if not first_row(con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' "
                       "AND table_name = 'withdrawals'"))[0]:
        return []
    rows = con.execute(
        "SELECT kind, period_start, revision, published_at, reason FROM marts.withdrawals "
        "QUALIFY revision = max(revision) OVER (PARTITION BY kind, period_start) "
        "ORDER BY kind, period_start").fetchall()
    lines = []
    for kind, start, revision, when, reason in rows:
        view = CURRENT_OF_KIND[kind]
        if view in views and first_row(con.execute(f"SELECT count(*) FROM marts.{view} "
                                         "WHERE period_start = ?", [start]))[0]:
            continue  # run again since: published
        period = PERIODS[{"weekly": "week", "monthly": "month", "annual": "year"}[kind]]
        lines.append(f"\nWithdrawn: {period.format(start)} (revision {revision}, "
                     f"{when:%Y-%m-%d %H:%M %Z}): {reason}")
    return lines


def _table(con: duckdb.DuckDBPyConnection, relation: str, title: str,
           indicators: tuple[str, ...], period: str, latest: object, group: str | None,
           top: int, groups: Mapping[str, str]) -> list[str]:
    group_expr = group or "NULL"
    rows = con.execute(
        f"""
        SELECT {group_expr} AS unit_group, final_place,
               unit_name || coalesce(' / ' || unit_name_kk, '') AS unit_name,
               penalty_points, movement, revision,
               {', '.join(indicators)}, count(*) OVER (PARTITION BY {group_expr}) AS units
        FROM marts.{relation} WHERE period_start = ?
        QUALIFY row_number() OVER (PARTITION BY {group_expr} ORDER BY final_place, unit_name)
                <= ?
        ORDER BY unit_group, final_place, unit_name
        """,
        [latest, top],
    ).fetchall()
    lines = [f"\n{title} — {period} (ревизия {rows[0][5]})"]
    header = (f"  {'место':>5}  {'штраф':>6}  {'±':>4}  участник | "
              + " | ".join(LABELS[i] for i in indicators))
    shown_group = object()
    for unit_group, place, name, points, movement, _, *values in rows:
        if unit_group != shown_group:
            if group:
                lines.append(f"  [{groups.get(unit_group, unit_group)}, участников: "
                             f"{values[-1]}]")
            else:
                lines[0] += f", участников: {values[-1]}"
            lines.append(header)
            shown_group = unit_group
        shown = " | ".join(_fmt(v) for v in values[:-1])
        lines.append(f"  {place:>5}  {points:>6.0f}  {_arrow(movement):>4}  {name} | {shown}")
    return lines
