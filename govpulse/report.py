"""Print the top of each published weekly rating (what `make demo` ends with)."""

from __future__ import annotations

from pathlib import Path

import duckdb

# Relation, Russian title, indicator columns shown.
RATINGS = (
    ("rating_people_weekly_current", "Что говорит народ (акиматы областей)",
     ("mentions", "engagement", "engagement_per_1k_pop", "sentiment_audience_net")),
    ("rating_region_pages_weekly_current", "Официальные страницы акиматов областей",
     ("subscribers", "engagement", "er_subscribers_pct", "engagement_per_1k_pop")),
    ("rating_district_pages_weekly_current", "Официальные страницы акиматов районов",
     ("subscribers", "engagement", "er_subscribers_pct", "engagement_per_1k_pop")),
    ("rating_insta_akims_weekly_current", "Инста-акимы",
     ("real_subscribers", "engaged_users", "er_real_pct")),
)


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
        for relation, title, indicators in RATINGS:
            week = con.execute(f"SELECT max(period_start) FROM marts.{relation}").fetchone()[0]
            if week is None:
                lines.append(f"\n{title}: no published week yet")
                continue
            rows = con.execute(
                f"""
                SELECT final_place,
                       unit_name || coalesce(' / ' || unit_name_kk, '') AS unit_name,
                       penalty_points, movement, revision,
                       {', '.join(indicators)}, count(*) OVER () AS units
                FROM marts.{relation} WHERE period_start = ?
                ORDER BY final_place, unit_name LIMIT ?
                """,
                [week, top],
            ).fetchall()
            lines.append(f"\n{title} — неделя с {week:%d.%m.%Y} "
                         f"(ревизия {rows[0][4]}, участников: {rows[0][-1]})")
            lines.append(f"  {'место':>5}  {'штраф':>6}  {'±':>4}  участник | "
                         + " | ".join(LABELS[i] for i in indicators))
            for place, name, points, movement, _, *values in rows:
                shown = " | ".join(_fmt(v) for v in values[:-1])
                lines.append(f"  {place:>5}  {points:>6.0f}  {_arrow(movement):>4}  "
                             f"{name} | {shown}")
    lines.append(f"\nPublished file: {published_file}")
    lines.append(
        "Query it: uv run python -c \"import duckdb; print(duckdb.connect("
        f"'{published_file}', read_only=True).sql('FROM marts.rating_people_weekly_current'))\""
    )
    return "\n".join(lines)
