"""Weekly bulletin: one week of the four weekly ratings as a static HTML page, CSVs and charts.

`write_bulletin(published_file, period_start, out_dir, territory)` reads the published DuckDB file
(read-only, small aggregate queries only) and writes `out_dir/<period_start>/`:

- `index.html`: self-contained page in Russian (inline CSS, images by relative path), readable on
  screen and on A4 paper;
- `<rating>.csv`: the week's rows of each rating as published (UTF-8, all columns);
- `<rating>_points.png`: penalty points per unit; `<rating>_trend.png`: places of the week's
  top five over the last eight weeks (inverted y axis).

The pages are Jinja2 templates in `templates/` (page, rating-section macros, stylesheet, withdrawn
week); this module only prepares the data they lay out. Moments are shown in the territory's zone
(govpulse.territory), Kazakh names only where the territory's readers read Kazakh. The monthly
bulletin of the incident rating is `bulletin_monthly.py`.

The directory is written next to the target and renamed over it, so a reader never sees half a
bulletin.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from govpulse.publish.bulletin_render import TEMPLATES, local, num, write_folder
from govpulse.publish.report import LABELS, RATINGS
from govpulse.ratings import of_kind
from govpulse.territory import Territory
from govpulse.warehouse.sql import first_row

TREND_WEEKS = 8
TREND_TOP = 5
CHART_MAX_UNITS = 30
# DejaVu Sans ships with matplotlib and covers Kazakh Cyrillic (ә ғ қ ң ө ұ ү һ і).
CHART_FONT = "DejaVu Sans"

# File stem and METHODOLOGY section of each weekly rating relation (the rating catalogue).
WEEKLY = {r.current: (r.name, r.section) for r in of_kind("weekly")}
UNIT_HEADERS = {r.name: r.unit_label or "Участник" for r in of_kind("weekly")}
PLATFORMS = {
    "vk": "ВКонтакте", "ok": "Одноклассники", "facebook": "Facebook", "instagram": "Instagram",
    "x": "X", "telegram": "Telegram", "youtube": "YouTube",
}
EXCLUSION_REASONS = {
    "delivered": "получено упоминаний",
    "outside_week": "вне недели",
    "not_person": "автор — не частное лицо",
    "excluded_source": "исключённый источник",
    "spam_author": "массовый автор (спам)",
    "eligible": "допущено к подсчёту",
    "not_tied": "не относится ни к одному акимату",
    "tied": "отнесено к акиматам",
    "unit_mentions": "засчитано акиматам (с повторами)",
}
STATUSES = {"success": "успешно", "unchanged": "без изменений", "failed": "с ошибкой",
            "running": "идёт"}


@dataclass
class RatingWeek:
    stem: str
    section: str
    title: str
    indicators: tuple[str, ...]
    columns: list[str]
    rows: list[dict]
    chart: str | None = None
    trend: str | None = None

    @property
    def revision(self) -> int | None:
        return self.rows[0]["revision"] if self.rows else None


def write_bulletin(published_file: Path, period_start: date, out_dir: Path,
                   territory: Territory | None = None) -> Path:
    """Write the bulletin of the week starting `period_start`; return the path of its index.html.
    `territory` (govpulse.territory.load_territory of the run's registry; default: the Kazakh
    defaults) gives the zone moments are shown in and the readers' languages.

    Raises FileNotFoundError when the published file is missing and ValueError when none of the
    four weekly ratings has a published revision of that week.
    """
    territory = territory or Territory(territory_id="kz")
    published_file = Path(published_file)
    if not published_file.exists():
        raise FileNotFoundError(f"{published_file} does not exist yet: run a week first")
    with duckdb.connect(str(published_file), read_only=True) as con:
        views = {r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts'").fetchall()}
        pairs = [(relation, _rating_week(con, relation, title, indicators, period_start))
                 for relation, title, indicators, kind, _ in RATINGS
                 if kind == "week" and relation in WEEKLY and relation in views]
        weeks = [week for _, week in pairs]
        if not any(w.rows for w in weeks):
            withdrawal = _withdrawal(con, period_start)
            if withdrawal is None:
                raise ValueError(f"no weekly rating is published for the week {period_start}")
            return _write_page(out_dir, period_start,
                               withdrawn_page(period_start, territory, *withdrawal))
        trends = {week.stem: _trend(con, relation, week, period_start)
                  for relation, week in pairs if week.rows}
        people = next((w for w in weeks if w.stem == "people" and w.rows), None)
        exclusions = (_exclusions(con, period_start, people.revision)
                      if people and "rating_people_weekly_exclusions" in _tables(con) else [])
        freshness = _freshness(con, period_start)

    def write(work: Path) -> None:
        for week in weeks:
            if not week.rows:
                continue
            _write_csv(work / f"{week.stem}.csv", week)
            week.chart = f"{week.stem}_points.png"
            _points_chart(work / week.chart, week)
            week.trend = f"{week.stem}_trend.png"
            _trend_chart(work / week.trend, week, *trends[week.stem])
        (work / "index.html").write_text(
            _page(period_start, weeks, exclusions, freshness, territory), encoding="utf-8")

    return write_folder(out_dir, period_start.isoformat(), write) / "index.html"


# --- data ------------------------------------------------------------------------------------


def _withdrawal(con: duckdb.DuckDBPyConnection, period_start: date
                ) -> tuple[int, datetime, str] | None:
    """The week's withdrawal (revision, when, why) when it is the week's latest publication
    (govpulse.run.withdraw): the _current views leave the week out then."""
    if "withdrawals" not in _tables(con):
        return None
    return con.execute(
        "SELECT revision, published_at, reason FROM marts.withdrawals "
        "WHERE kind = 'weekly' AND period_start = ? ORDER BY revision DESC LIMIT 1",
        [period_start]).fetchone()


def _write_page(out_dir: Path, period_start: date, page: str) -> Path:
    """A bulletin of one page (no CSV, no chart), replacing the period's folder in one step."""
    def write(work: Path) -> None:
        (work / "index.html").write_text(page, encoding="utf-8")

    return write_folder(out_dir, period_start.isoformat(), write) / "index.html"


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts'").fetchall()}


def _rating_week(con: duckdb.DuckDBPyConnection, relation: str, title: str,
                 indicators: tuple[str, ...], period_start: date) -> RatingWeek:
    stem, section = WEEKLY[relation]
    cur = con.execute(
        f"SELECT * FROM marts.{relation} WHERE period_start = ? "
        "ORDER BY final_place, unit_name, unit_id", [period_start])
    columns = [d[0] for d in cur.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    return RatingWeek(stem, section, title, indicators, columns, rows)


def _trend(con: duckdb.DuckDBPyConnection, relation: str, week: RatingWeek,
           period_start: date) -> tuple[list[date], dict[str, list[int | None]]]:
    """Weeks of the window and, per leader (unit_id), the final place of each week."""
    leaders = [r["unit_id"] for r in week.rows[:TREND_TOP]]
    first = period_start - timedelta(days=7 * (TREND_WEEKS - 1))
    weeks = [first + timedelta(days=7 * i) for i in range(TREND_WEEKS)]
    places: dict[str, list[int | None]] = {u: [None] * TREND_WEEKS for u in leaders}
    for unit_id, start, place in con.execute(
            f"SELECT unit_id, period_start, final_place FROM marts.{relation} "
            "WHERE period_start BETWEEN ? AND ? AND list_contains(?, unit_id)",
            [first, period_start, leaders]).fetchall():
        offset = (start - first).days
        if offset % 7 == 0:
            places[unit_id][offset // 7] = place
    return weeks, places


def _exclusions(con: duckdb.DuckDBPyConnection, period_start: date,
                revision: int | None) -> list[tuple[str, bool, int]]:
    return con.execute(
        "SELECT reason, is_exclusion, mentions FROM marts.rating_people_weekly_exclusions "
        "WHERE period_start = ? AND revision = ? ORDER BY step", [period_start, revision]
    ).fetchall()


def _freshness(con: duckdb.DuckDBPyConnection, period_start: date) -> dict:
    has_runs = first_row(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops' AND table_name = 'runs'"
    ))[0]
    if not has_runs:
        return {"runs": [], "last_load": None}
    runs = con.execute(
        "SELECT started_at, finished_at, status, rows_loaded_total, rows_quarantined, "
        "revision_published FROM ops.runs WHERE kind = 'weekly' AND period_start = ? "
        "ORDER BY started_at", [period_start]).fetchall()
    last_load = con.execute(
        "SELECT finished_at, CAST(rows_loaded AS VARCHAR), rows_loaded_total FROM ops.runs "
        "WHERE status = 'success' AND rows_loaded_total > 0 ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    return {"runs": runs, "last_load": last_load}


# --- files -----------------------------------------------------------------------------------


def _write_csv(path: Path, week: RatingWeek) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(week.columns)
        for row in week.rows:
            writer.writerow(["" if row[c] is None else _csv_value(row[c]) for c in week.columns])


def _csv_value(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# --- charts ----------------------------------------------------------------------------------


def _rc() -> dict:
    return {"font.family": CHART_FONT, "font.size": 9, "axes.spines.top": False,
            "axes.spines.right": False, "svg.fonttype": "none"}


def _chart_name(row: dict) -> str:
    name = row["unit_name"] or row["unit_id"]
    if row.get("platform"):
        name += f" ({PLATFORMS.get(row['platform'], row['platform'])})"
    return name if len(name) <= 48 else name[:47] + "…"


def _points_chart(path: Path, week: RatingWeek) -> None:
    import matplotlib
    from matplotlib.figure import Figure  # Agg canvas, no pyplot state

    rows = week.rows[:CHART_MAX_UNITS]
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(8, 1.0 + 0.24 * len(rows)), dpi=150, layout="constrained")
        ax = fig.add_subplot()
        labels = [f"{r['final_place']}. {_chart_name(r)}" for r in rows]
        points = [r["penalty_points"] or 0 for r in rows]
        bars = ax.barh(range(len(rows)), points, color="#3b6ea5", height=0.7)
        if rows:
            bars[0].set_color("#1f4e79")
        ax.set_yticks(range(len(rows)), labels)
        ax.invert_yaxis()
        ax.bar_label(bars, labels=[num(p) for p in points], padding=3, fontsize=8)
        ax.set_xlabel("штрафные очки (меньше — лучше)")
        shown = "" if len(week.rows) <= len(rows) else f" (первые {len(rows)} из {len(week.rows)})"
        ax.set_title(f"Штрафные очки{shown}", loc="left", fontsize=10)
        ax.margins(x=0.12)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        fig.savefig(path, metadata={"Software": None})


def _trend_chart(path: Path, week: RatingWeek, weeks: list[date],
                 places: dict[str, list[int | None]]) -> None:
    import matplotlib
    from matplotlib.figure import Figure

    names = {r["unit_id"]: _chart_name(r) for r in week.rows}
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(8, 4.2), dpi=150, layout="constrained")
        ax = fig.add_subplot()
        x = list(range(len(weeks)))
        for unit_id, series in places.items():
            ax.plot(x, [math.nan if p is None else p for p in series], marker="o",
                    linewidth=2, markersize=5, label=names.get(unit_id, unit_id))
        ax.set_xticks(x, [f"{w:%d.%m}" for w in weeks])
        ax.set_xlim(-0.3, len(weeks) - 0.7)
        worst = max((p for s in places.values() for p in s if p is not None), default=1)
        step = max(1, math.ceil(worst / 8))
        ax.set_yticks(sorted({1, *range(step, worst + 1, step)}))
        ax.set_ylim(worst + 0.5, 0.5)  # inverted: place 1 on top
        ax.set_ylabel("итоговое место")
        ax.set_xlabel("неделя (начало)")
        ax.grid(color="#e5e5e5", linewidth=0.6)
        ax.set_title(f"Места лидеров недели за {len(weeks)} недель",
                     loc="left", fontsize=10)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
        fig.savefig(path, metadata={"Software": None})


# --- HTML ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UnitRow:
    """One table row as the template shows it: names chosen, link vetted, numbers unformatted."""

    place: int | None
    movement: int | None
    name: str
    url: str | None  # http(s) only: a registry URL such as javascript:… is not made a link
    name_kk: str | None  # shown under the name when it says something else
    entity: str | None  # the page's own name, when it differs from the unit's
    platform: str | None
    points: float | None
    scores: list[tuple[object, int | None]]  # (value, place) of each indicator


def _unit_row(week: RatingWeek, row: dict, territory: Territory) -> UnitRow:
    name = row["unit_name"] or row["unit_id"]
    url = row.get("url")
    kk = row.get("unit_name_kk")
    entity = row.get("entity_name")
    platform = row.get("platform")
    return UnitRow(
        place=row["final_place"],
        movement=row["movement"],
        name=name,
        url=url if isinstance(url, str) and url.lower().startswith(("https://", "http://"))
        else None,
        name_kk=kk if territory.shows("kk") and kk and kk.strip() and kk != name else None,
        entity=entity if entity and entity != name else None,
        platform=PLATFORMS.get(platform or "", platform) if "platform" in week.columns else None,
        points=row["penalty_points"],
        scores=[(row.get(i), row.get(f"place_{i}")) for i in week.indicators],
    )


def _section(week: RatingWeek, exclusions: list[tuple[str, bool, int]],
             territory: Territory) -> dict:
    """What the template needs of one rating; `exclusions` go under «Что говорит народ»."""
    first = week.rows[0] if week.rows else {}
    return {
        "stem": week.stem,
        "title": week.title,
        "section": week.section,
        "revision": week.revision,
        "published_at": first.get("published_at"),
        "methodology_version": first.get("methodology_version"),
        "unit_header": UNIT_HEADERS[week.stem],
        "platforms": "platform" in week.columns,
        "labels": [LABELS.get(i, i) for i in week.indicators],
        "units": [_unit_row(week, row, territory) for row in week.rows],
        "chart": week.chart,
        "trend": week.trend,
        "exclusions": [
            {"reason": EXCLUSION_REASONS.get(reason, reason), "excluded": excluded,
             "mentions": mentions}
            for reason, excluded, mentions in (exclusions if week.stem == "people" else [])],
    }


def _freshness_view(weeks: Sequence[RatingWeek], freshness: dict, territory: Territory) -> dict:
    rated = [w for w in weeks if w.rows]
    last = freshness["last_load"]
    return {
        "published": max(w.rows[0]["published_at"] for w in rated),
        "revisions": [(w.title, w.revision) for w in rated],
        "versions": sorted({w.rows[0]["methodology_version"] for w in rated}),
        "last_load": None if last is None else {"finished": last[0], "rows": last[2]},
        "runs": [
            {"started": f"{local(started, territory):%d.%m %H:%M}",
             "status": STATUSES.get(status, status), "finished": finished,
             "loaded": loaded, "quarantined": quarantined, "revision": revision}
            for started, finished, status, loaded, quarantined, revision in freshness["runs"]],
    }


def _tie_rule(weeks: Sequence[RatingWeek]) -> str | None:
    """'competition' or 'dense' as seen in the published final places, None if no tie shows."""
    for week in weeks:
        places = [r["final_place"] for r in week.rows if r["final_place"] is not None]
        for i in range(1, len(places)):
            if places[i] == places[i - 1]:
                later = [p for p in places[i:] if p != places[i]]
                if later:
                    return "dense" if later[0] == places[i] + 1 else "competition"
    return None


def _page(period_start: date, weeks: Sequence[RatingWeek],
          exclusions: list[tuple[str, bool, int]], freshness: dict, territory: Territory) -> str:
    return TEMPLATES.get_template("bulletin.html.j2").render(
        territory=territory,
        period_start=period_start,
        last_day=period_start + timedelta(days=6),  # a week is seven days from its first
        weeks=[_section(w, exclusions, territory) for w in weeks],
        tie_rule=_tie_rule(weeks),
        freshness=_freshness_view(weeks, freshness, territory),
        trend_weeks=TREND_WEEKS,
    )


def withdrawn_page(period_start: date, territory: Territory, revision: int, when: datetime,
                    reason: str, period: str = "week") -> str:
    return TEMPLATES.get_template("withdrawn.html.j2").render(
        territory=territory, period=period, period_start=period_start, revision=revision,
        withdrawn_at=when, reason=reason)
