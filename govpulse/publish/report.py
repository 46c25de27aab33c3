"""Print the top of each published rating (what `make demo` ends with)."""

from __future__ import annotations

from pathlib import Path

import duckdb

# Relation, Russian title, indicator columns shown, period kind, column of separately ranked groups.
RATINGS = (
    ("rating_people_weekly_current", "Что говорит народ (акиматы областей)",
     ("mentions", "engagement", "engagement_per_1k_pop", "sentiment_audience_net"), "week", None),
    ("rating_region_pages_weekly_current", "Официальные страницы акиматов областей",
     ("subscribers", "engagement", "er_subscribers_pct", "engagement_per_1k_pop"), "week", None),
    ("rating_district_pages_weekly_current", "Официальные страницы акиматов районов",
     ("subscribers", "engagement", "er_subscribers_pct", "engagement_per_1k_pop"), "week", None),
    ("rating_insta_akims_weekly_current", "Инста-акимы",
     ("real_subscribers", "engaged_users", "er_real_pct"), "week", None),
    ("rating_incidents_monthly_current", "Инцидент Менеджмент: ответы на обращения жителей",
     ("incidents", "avg_response_minutes", "resolved_count", "resolved_satisfied_pct",
      "answer_quality_avg"), "month", "body_group"),
    ("rating_annual_current", "Итоги года", ("weeks_rated", "mean_weekly_place", "expert_score"),
     "year", "rating"),
)
PERIODS = {"week": "неделя с {:%d.%m.%Y}", "month": "месяц {:%m.%Y}", "year": "{:%Y} год"}
GROUPS = {
    "municipal": "акиматы районов и городов", "regional_service": "региональные службы",
    "ministry": "министерства", "people": "Что говорит народ",
    "region_pages": "страницы акиматов областей", "district_pages": "страницы акиматов районов",
    "insta_akims": "Инста-акимы",
}


LABELS = {
    "mentions": "упоминания",
    "engagement": "вовлечённость",
    "engagement_per_1k_pop": "на 1000 жителей",
    "sentiment_audience_net": "аудитория (+) − (−)",
    "subscribers": "подписчики",
    "er_subscribers_pct": "ER, %",
    "real_subscribers": "реальные подписчики",
    "engaged_users": "вовлечённые",
    "er_real_pct": "ER реальн., %",
    "incidents": "обращения",
    "avg_response_minutes": "ответ, мин",
    "resolved_count": "решено",
    "resolved_satisfied_pct": "довольны, %",
    "answer_quality_avg": "качество ответа",
    "weeks_rated": "недель",
    "mean_weekly_place": "среднее место",
    "expert_score": "оценка экспертов",
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


def show(published_file: Path, top: int = 5) -> str:
    if not published_file.exists():
        raise FileNotFoundError(f"{published_file} does not exist yet: run a week first")
    lines = []
    with duckdb.connect(str(published_file), read_only=True) as con:
        published = {r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts'").fetchall()}
        for relation, title, indicators, period, group in RATINGS:
            latest = (con.execute(f"SELECT max(period_start) FROM marts.{relation}").fetchone()[0]
                      if relation in published else None)
            if latest is None:
                if period == "week":
                    lines.append(f"\n{title}: no published week yet")
                continue
            lines += _table(con, relation, title, indicators, PERIODS[period].format(latest),
                            latest, group, top)
        lines += _withdrawn(con, published)
    lines.append(f"\nPublished file: {published_file}")
    lines.append(
        "Query it: uv run python -c \"import duckdb; print(duckdb.connect("
        f"'{published_file}', read_only=True).sql('FROM marts.rating_people_weekly_current'))\""
    )
    return "\n".join(lines)


# the _current view that tells whether a kind's period is published (not withdrawn)
CURRENT_OF_KIND = {"weekly": "rating_people_weekly_current",
                   "monthly": "rating_incidents_monthly_current",
                   "annual": "rating_annual_current"}


def _withdrawn(con: duckdb.DuckDBPyConnection, views: set[str]) -> list[str]:
    """Periods withdrawn (govpulse withdraw) and not published again since: said, not shown."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' "
                       "AND table_name = 'withdrawals'").fetchone()[0]:
        return []
    rows = con.execute(
        "SELECT kind, period_start, revision, published_at, reason FROM marts.withdrawals "
        "QUALIFY revision = max(revision) OVER (PARTITION BY kind, period_start) "
        "ORDER BY kind, period_start").fetchall()
    lines = []
    for kind, start, revision, when, reason in rows:
        view = CURRENT_OF_KIND[kind]
        if view in views and con.execute(f"SELECT count(*) FROM marts.{view} "
                                         "WHERE period_start = ?", [start]).fetchone()[0]:
            continue  # run again since: published
        period = PERIODS[{"weekly": "week", "monthly": "month", "annual": "year"}[kind]]
        lines.append(f"\nWithdrawn: {period.format(start)} (revision {revision}, "
                     f"{when:%Y-%m-%d %H:%M %Z}): {reason}")
    return lines


def _table(con: duckdb.DuckDBPyConnection, relation: str, title: str,
           indicators: tuple[str, ...], period: str, latest: object, group: str | None,
           top: int) -> list[str]:
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
                lines.append(f"  [{GROUPS.get(unit_group, unit_group)}, участников: "
                             f"{values[-1]}]")
            else:
                lines[0] += f", участников: {values[-1]}"
            lines.append(header)
            shown_group = unit_group
        shown = " | ".join(_fmt(v) for v in values[:-1])
        lines.append(f"  {place:>5}  {points:>6.0f}  {_arrow(movement):>4}  {name} | {shown}")
    return lines
