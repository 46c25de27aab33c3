"""Monthly bulletin: the ЦУР's publication of a month's work with residents' incidents (METHODOLOGY
§5) and, where the territory runs it, the fakes report (§8).

`write_monthly_bulletin(published_file, period_start, out_dir, territory, groups)` reads the
published DuckDB file (read-only, small queries of one month) and writes
`out_dir/<period_start>/` (e.g. `2026-11-01/`) in one step, as the weekly bulletin does:

- `index.html`: in Russian, worded as the centres publish (leaders by average response time as
  «1 час 37 минут», by solved problems, by answer quality; each body group ranked on its own),
  the full table of every group, the month's volume, answered and overdue shares, top topics
  and places, overall satisfaction; the fakes section when the file has the month's figures;
- `incidents.csv`, `incident_stats.csv` and, with the fakes section, `fakes.csv`,
  `fakes_unrefuted.csv`, `fakes_by_body.csv`: the month's rows as published.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from govpulse.methodology import parameters
from govpulse.publish.body_groups import GroupLabel, load_group_labels
from govpulse.publish.bulletin import STATUSES, withdrawn_page
from govpulse.publish.bulletin_render import TEMPLATES, write_folder
from govpulse.publish.durations import plural
from govpulse.ratings import catalogue
from govpulse.territory import Territory

RATING = catalogue()["incidents"]
STATS = "incident_stats_monthly_current"
FAKES = "fakes_monthly_current"
FAKES_UNREFUTED = "fakes_unrefuted_monthly_current"
FAKES_BY_BODY = "fakes_by_body_monthly_current"
LEADERS = 3  # places shown in each «лидеры» list (ties share a place, so maybe more bodies)
# The leader lists: indicator, heading, as the centres name them.
LEADER_LISTS = (
    ("avg_response_minutes", "Быстрее всех реагируют на обращения (среднее время ответа)"),
    ("resolved_count", "Больше всех решённых проблем"),
    ("answer_quality_avg", "Лучшее качество ответов (средняя оценка, от 1 до 5)"),
)
TEMPLATES.filters["plural"] = lambda n, *forms: plural(int(n or 0), forms)


@dataclass
class Month:
    """What the published file holds of one month (rows as dicts, columns as published)."""

    ratings: list[dict] = field(default_factory=list)
    stats: dict[str, dict] = field(default_factory=dict)  # scope -> row
    fakes: dict | None = None
    unrefuted: list[dict] = field(default_factory=list)
    by_body: list[dict] = field(default_factory=list)
    runs: list[tuple] = field(default_factory=list)
    tables: dict[str, tuple[list[str], list[dict]]] = field(default_factory=dict)  # CSVs


def write_monthly_bulletin(published_file: Path, period_start: date, out_dir: Path,
                           territory: Territory,
                           groups: Mapping[str, GroupLabel] | None = None) -> Path:
    """Write the bulletin of the month starting `period_start`; return its index.html.

    `territory`: govpulse.territory.load_territory(registry); `groups`: the body groups' names,
    body_groups.load_group_labels(registry) (default: the built-in labels). Raises
    FileNotFoundError without the published file and ValueError when the month has neither a
    published incident rating nor fakes figures (a withdrawn month gets its notice page).
    """
    published_file = Path(published_file)
    if not published_file.exists():
        raise FileNotFoundError(f"{published_file} does not exist yet: run a month first")
    labels = dict(groups) if groups is not None else load_group_labels(None)
    with duckdb.connect(str(published_file), read_only=True) as con:
        relations = _relations(con)
        month = _read(con, relations, period_start)
        withdrawal = (None if month.ratings or month.fakes
                      else _withdrawal(con, relations, period_start))
    if not month.ratings and month.fakes is None:
        if withdrawal is None:
            raise ValueError(f"nothing is published for the month {period_start}")
        page = withdrawn_page(period_start, territory, *withdrawal, period="month")
        return write_folder(out_dir, period_start.isoformat(),
                            lambda work: _write_text(work / "index.html", page)) / "index.html"

    def write(work: Path) -> None:
        for stem, (columns, rows) in month.tables.items():
            _write_csv(work / f"{stem}.csv", columns, rows)
        _write_text(work / "index.html", _page(period_start, month, territory, labels))

    return write_folder(out_dir, period_start.isoformat(), write) / "index.html"


# --- data ------------------------------------------------------------------------------------


def _relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts'").fetchall()}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]
          ) -> tuple[list[str], list[dict]]:
    cur = con.execute(sql, params)
    columns = [d[0] for d in cur.description]
    return columns, [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]


def _read(con: duckdb.DuckDBPyConnection, relations: set[str], start: date) -> Month:
    month = Month()
    queries = {  # CSV stem -> (relation, order of its rows)
        "incidents": (RATING.current, f"{RATING.group}, final_place, unit_name, unit_id"),
        "incident_stats": (STATS, "scope <> 'all', scope"),
        "fakes": (FAKES, "1"),
        "fakes_unrefuted": (FAKES_UNREFUTED, "reach DESC NULLS LAST, first_seen_at, fake_id"),
        "fakes_by_body": (FAKES_BY_BODY, "fakes_found DESC, unit_name, unit_id"),
    }
    for stem, (relation, order) in queries.items():
        if relation in relations:
            month.tables[stem] = _rows(
                con, f"SELECT * FROM marts.{relation} WHERE period_start = ? ORDER BY {order}",
                [start])
    month.ratings = month.tables.get("incidents", ([], []))[1]
    month.stats = {r["scope"]: r for r in month.tables.get("incident_stats", ([], []))[1]}
    fakes = month.tables.get("fakes", ([], []))[1]
    if fakes:
        month.fakes = fakes[0]
        month.unrefuted = month.tables.get("fakes_unrefuted", ([], []))[1]
        month.by_body = month.tables.get("fakes_by_body", ([], []))[1]
    else:  # no fakes figures this month: no section and no empty CSVs
        for stem in ("fakes", "fakes_unrefuted", "fakes_by_body"):
            month.tables.pop(stem, None)
    if not month.ratings:
        month.tables.pop("incidents", None)
    if not month.stats:
        month.tables.pop("incident_stats", None)
    has_runs = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops' "
                           "AND table_name = 'runs'").fetchall()[0][0]
    if has_runs:
        month.runs = con.execute(
            "SELECT finished_at, status, rows_loaded_total, rows_quarantined, "
            "revision_published FROM ops.runs WHERE kind = 'monthly' AND period_start = ? "
            "ORDER BY started_at", [start]).fetchall()
    return month


def _withdrawal(con: duckdb.DuckDBPyConnection, relations: set[str], start: date
                ) -> tuple[int, datetime, str] | None:
    if "withdrawals" not in relations:
        return None
    return con.execute(
        "SELECT revision, published_at, reason FROM marts.withdrawals "
        "WHERE kind = 'monthly' AND period_start = ? ORDER BY revision DESC LIMIT 1",
        [start]).fetchone()


# --- files -----------------------------------------------------------------------------------


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row[c] is None else
                             row[c].isoformat() if isinstance(row[c], datetime | date) else row[c]
                             for c in columns])


# --- page ------------------------------------------------------------------------------------


def _link(url: object) -> str | None:
    """http(s) only: a URL such as javascript:… from an input file is not made a link."""
    return url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) else None


def _name(row: dict, territory: Territory) -> dict:
    name = row.get("unit_name") or row.get("unit_id")
    kk = row.get("unit_name_kk")
    return {"name": name,
            "name_kk": kk if territory.shows("kk") and kk and kk.strip() and kk != name else None}


def _leaders(rows: list[dict], indicator: str) -> list[dict]:
    """Bodies in the first LEADERS places by the indicator (those with a value)."""
    place = f"place_{indicator}"
    # a count of 0 leads nothing (three bodies with no solved problem are no «лидеры»)
    top = [r for r in rows if r.get(indicator) not in (None, 0) and r.get(place) is not None
           and r[place] <= LEADERS]
    return sorted(top, key=lambda r: (r[place], r.get("unit_name") or "", r["unit_id"]))


def _group_order(code: str, labels: Mapping[str, GroupLabel]) -> tuple[int, str]:
    order = list(labels)
    return (order.index(code) if code in order else len(order), code)


def _split_top(value: object) -> list[str]:
    """«ЖКХ (12); Дороги (7)» as its items."""
    return [item.strip() for item in str(value or "").split(";") if item.strip()]


def _stats_view(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {**row, "categories": _split_top(row.get("top_categories")),
            "municipalities": _split_top(row.get("top_municipalities"))}


def _groups(month: Month, territory: Territory, labels: Mapping[str, GroupLabel]) -> list[dict]:
    codes = sorted({r[RATING.group] or "municipal" for r in month.ratings},
                   key=lambda c: _group_order(c, labels))
    out = []
    for code in codes:
        rows = [r for r in month.ratings if (r[RATING.group] or "municipal") == code]
        label = labels.get(code, GroupLabel(code))
        out.append({
            "code": code,
            "name": label.name_ru,
            "name_kk": label.name_kk if territory.shows("kk") and label.name_kk else None,
            "stats": _stats_view(month.stats.get(code)),
            "leaders": [{"indicator": indicator, "title": title,
                         "units": [{**r, **_name(r, territory)}
                                   for r in _leaders(rows, indicator)]}
                        for indicator, title in LEADER_LISTS],
            "units": [{**r, **_name(r, territory)} for r in rows],
        })
    return out


def _page(period_start: date, month: Month, territory: Territory,
          labels: Mapping[str, GroupLabel]) -> str:
    next_month = (period_start + timedelta(days=32)).replace(day=1)
    rated = month.ratings
    return TEMPLATES.get_template("monthly.html.j2").render(
        territory=territory,
        period_start=period_start,
        last_day=next_month - timedelta(days=1),
        section=RATING.section,
        groups=_groups(month, territory, labels),
        overall=_stats_view(month.stats.get("all")),
        fakes=month.fakes,
        unrefuted=[{**r, "link": _link(r.get("url"))} for r in month.unrefuted],
        by_body=month.by_body,
        files=list(month.tables),
        published=max((r["published_at"] for r in rated), default=None),
        revision=max((r["revision"] for r in rated), default=None),
        versions=sorted({r["methodology_version"] for r in rated}),
        runs=[(finished, STATUSES.get(status, status), *rest)
              for finished, status, *rest in month.runs],
        min_count=parameters().get("incident_min_count", 2),
    )
