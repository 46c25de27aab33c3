"""Weekly bulletin: one week of the four weekly ratings as a static HTML page, CSVs and charts.

`write_bulletin(published_file, period_start, out_dir)` reads the published DuckDB file
(read-only, small aggregate queries only) and writes `out_dir/<period_start>/`:

- `index.html`: self-contained page in Russian (inline CSS, images by relative path), readable on
  screen and on A4 paper;
- `<rating>.csv`: the week's rows of each rating as published (UTF-8, all columns);
- `<rating>_points.png`: penalty points per unit; `<rating>_trend.png`: places of the week's
  top five over the last eight weeks (inverted y axis).

The directory is written next to the target and renamed over it, so a reader never sees half a
bulletin.
"""

from __future__ import annotations

import csv
import html
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from govpulse.publish.folders import replace_folder
from govpulse.publish.report import LABELS, RATINGS

ALMATY = ZoneInfo("Asia/Almaty")
TREND_WEEKS = 8
TREND_TOP = 5
CHART_MAX_UNITS = 30
# DejaVu Sans ships with matplotlib and covers Kazakh Cyrillic (ә ғ қ ң ө ұ ү һ і).
CHART_FONT = "DejaVu Sans"

# File stem and METHODOLOGY section of each weekly rating relation.
WEEKLY = {
    "rating_people_weekly_current": ("people", "§1"),
    "rating_region_pages_weekly_current": ("region_pages", "§2"),
    "rating_district_pages_weekly_current": ("district_pages", "§3"),
    "rating_insta_akims_weekly_current": ("insta_akims", "§4"),
}
UNIT_HEADERS = {
    "people": "Акимат",
    "region_pages": "Страница",
    "district_pages": "Страница",
    "insta_akims": "Аким",
}
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
MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
          "сентября", "октября", "ноября", "декабря")


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


def write_bulletin(published_file: Path, period_start: date, out_dir: Path) -> Path:
    """Write the bulletin of the week starting `period_start`; return the path of its index.html.

    Raises FileNotFoundError when the published file is missing and ValueError when none of the
    four weekly ratings has a published revision of that week.
    """
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
            return _write_page(out_dir, period_start, _withdrawn_page(period_start, *withdrawal))
        trends = {week.stem: _trend(con, relation, week, period_start)
                  for relation, week in pairs if week.rows}
        people = next((w for w in weeks if w.stem == "people" and w.rows), None)
        exclusions = (_exclusions(con, period_start, people.revision)
                      if people and "rating_people_weekly_exclusions" in _tables(con) else [])
        freshness = _freshness(con, period_start)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / period_start.isoformat()
    work = Path(tempfile.mkdtemp(prefix=f".{period_start.isoformat()}-", dir=out_dir))
    try:
        for week in weeks:
            if not week.rows:
                continue
            _write_csv(work / f"{week.stem}.csv", week)
            week.chart = f"{week.stem}_points.png"
            _points_chart(work / week.chart, week)
            week.trend = f"{week.stem}_trend.png"
            _trend_chart(work / week.trend, week, *trends[week.stem])
        (work / "index.html").write_text(
            _page(period_start, weeks, exclusions, freshness), encoding="utf-8")
        os.chmod(work, 0o755)
        replace_folder(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target / "index.html"


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
    """A bulletin of one page (no CSV, no chart), replacing the week's folder in one step."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{period_start.isoformat()}-", dir=out_dir))
    try:
        (work / "index.html").write_text(page, encoding="utf-8")
        os.chmod(work, 0o755)
        replace_folder(work, out_dir / period_start.isoformat())
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out_dir / period_start.isoformat() / "index.html"


def _withdrawn_page(period_start: date, revision: int, when: datetime, reason: str) -> str:
    title = f"Рейтинги недели с {_day(period_start)} отозваны"
    return (
        '<!doctype html>\n<html lang="ru"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title></head><body>"
        f'<h1>{_e(title)}</h1><p class="withdrawn">Публикация отозвана {_e(_moment(when))} '
        f"(ревизия {revision}). Причина: {_e(reason)}</p>"
        "<p>Рейтинги этой недели не действуют. История ревизий сохранена в опубликованном "
        "файле: marts.withdrawals и таблицы рейтингов.</p>"
        f"<p>Withdrawn: the ratings of the week {period_start} were withdrawn (revision "
        f"{revision}): {_e(reason)}</p></body></html>\n")


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
    has_runs = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops' AND table_name = 'runs'"
    ).fetchone()[0]
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
        ax.bar_label(bars, labels=[_num(p) for p in points], padding=3, fontsize=8)
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

CSS = """
:root { --ink: #1d2733; --muted: #5b6573; --line: #d5dbe3; --zebra: #f3f6f9; --head: #e6ecf2;
        --accent: #1f4e79; --up: #1a7f37; --down: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.5 "DejaVu Sans", "Noto Sans", "Segoe UI", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; line-height: 1.25; margin: 0 0 4px; color: var(--accent); }
h2 { font-size: 20px; margin: 36px 0 6px; padding-bottom: 4px;
     border-bottom: 2px solid var(--accent); break-after: avoid; page-break-after: avoid; }
h3 { font-size: 16px; margin: 20px 0 6px; break-after: avoid; page-break-after: avoid; }
p { margin: 6px 0 10px; }
.lead { color: var(--muted); margin: 0 0 18px; }
.meta { color: var(--muted); font-size: 13px; margin: 0 0 10px; }
nav ul { margin: 6px 0 0; padding-left: 20px; }
a { color: var(--accent); }
table { width: 100%; border-collapse: collapse; margin: 8px 0 14px; font-size: 13px;
        font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); font-size: 12px; padding: 0 0 4px; }
thead { display: table-header-group; }
th { background: var(--head); text-align: left; font-weight: 600; vertical-align: bottom;
     padding: 6px 8px; border-bottom: 2px solid var(--line); }
td { padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
tbody tr:nth-child(even) td { background: var(--zebra); }
tr { break-inside: avoid; page-break-inside: avoid; }
td.n, th.n { text-align: right; white-space: nowrap; }
td.place { font-weight: 700; text-align: right; width: 3.5em; }
td.pts { font-weight: 700; }
.kk { display: block; color: var(--muted); font-size: 12px; }
.pl { color: var(--muted); font-size: 11px; margin-left: 3px; }
.mv { white-space: nowrap; text-align: center; width: 3.5em; }
.up { color: var(--up); } .down { color: var(--down); } .same { color: var(--muted); }
.new { color: var(--accent); font-size: 11px; font-weight: 600; }
figure { margin: 10px 0 18px; break-inside: avoid; page-break-inside: avoid; }
figure img { display: block; width: 100%; max-width: 880px; height: auto; }
figcaption { color: var(--muted); font-size: 12px; }
.files { font-size: 13px; }
.note { background: var(--zebra); border-left: 4px solid var(--accent); padding: 10px 14px; }
dl.fresh { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 14px; }
dl.fresh dt { color: var(--muted); } dl.fresh dd { margin: 0; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h1 { font-size: 18pt; } h2 { font-size: 14pt; margin-top: 18pt; }
  table { font-size: 8.5pt; } td, th { padding: 2.5pt 4pt; }
  section.rating { break-before: page; page-break-before: always; }
  nav, .files { display: none; }
  a { color: inherit; text-decoration: none; }
  tbody tr:nth-child(even) td { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: object, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, int | float):
        shown = (f"{int(value):,}" if isinstance(value, int) or value.is_integer()
                 else f"{value:,.{digits}f}")
        # Russian style: thin groups, decimal comma, a real minus sign.
        return shown.replace(",", "\u00a0").replace(".", ",").replace("-", "\u2212")
    return str(value)


def _day(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _moment(ts: datetime | None) -> str:
    if ts is None:
        return "—"
    if ts.tzinfo is not None:
        ts = ts.astimezone(ALMATY)
    return f"{ts:%d.%m.%Y %H:%M} (Алматы)"


def _movement(movement: int | None) -> str:
    if movement is None:
        return '<span class="new" title="новый участник рейтинга">new</span>'
    if movement > 0:
        return f'<span class="up" title="поднялся на {movement}">▲{movement}</span>'
    if movement < 0:
        return f'<span class="down" title="опустился на {-movement}">▼{-movement}</span>'
    return '<span class="same" title="место не изменилось">=</span>'


def _unit_cell(row: dict) -> str:
    name = row["unit_name"] or row["unit_id"]
    url = row.get("url")
    shown = _e(name)
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        shown = f'<a href="{_e(url)}">{shown}</a>'
    kk = row.get("unit_name_kk")
    extra = (f'<span class="kk" lang="kk">{_e(kk)}</span>'
             if kk and kk.strip() and kk != name else "")
    entity = row.get("entity_name")
    if entity and entity != name:
        extra += f'<span class="kk">{_e(entity)}</span>'
    return f"{shown}{extra}"


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


def _rating_section(week: RatingWeek, extra: str = "") -> str:
    out = [f'<section class="rating" id="{_e(week.stem)}">',
           f"<h2>{_e(week.title)}</h2>"]
    if not week.rows:
        out.append('<p class="meta">За эту неделю рейтинг не опубликован.</p></section>')
        return "\n".join(out)
    first = week.rows[0]
    out.append(
        f'<p class="meta">Методика {_e(week.section)} · участников: {len(week.rows)} · '
        f"ревизия {_e(first['revision'])} · опубликовано {_e(_moment(first['published_at']))}"
        f" · версия методики <code>{_e(first['methodology_version'])}</code></p>")
    pages = "platform" in week.columns
    head = ['<th class="n" title="итоговое место">Место</th>',
            '<th class="mv" title="перемещение относительно прошлой недели">±</th>',
            f"<th>{_e(UNIT_HEADERS[week.stem])}</th>"]
    if pages:
        head.append("<th>Платформа</th>")
    head.append('<th class="n" title="сумма мест по показателям">Штрафные очки</th>')
    head += [f'<th class="n">{_e(LABELS.get(i, i))}</th>' for i in week.indicators]
    out += ["<table>",
            f"<caption>{_e(week.title)}: места за неделю; у показателя мелким шрифтом — "
            "его место (#)</caption>",
            "<thead><tr>" + "".join(head) + "</tr></thead>", "<tbody>"]
    for row in week.rows:
        cells = [f'<td class="place">{_e(row["final_place"])}</td>',
                 f'<td class="mv">{_movement(row["movement"])}</td>',
                 f"<td>{_unit_cell(row)}</td>"]
        if pages:
            cells.append(f"<td>{_e(PLATFORMS.get(row['platform'], row['platform']))}</td>")
        cells.append(f'<td class="n pts">{_e(_num(row["penalty_points"]))}</td>')
        for ind in week.indicators:
            place = row.get(f"place_{ind}")
            mark = f'<span class="pl">#{_e(place)}</span>' if place is not None else ""
            cells.append(f'<td class="n">{_e(_num(row.get(ind)))}{mark}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out += ["</tbody></table>",
            f'<p class="files">Таблица целиком: <a href="{_e(week.stem)}.csv">'
            f"{_e(week.stem)}.csv</a> (UTF-8, все опубликованные столбцы)</p>"]
    if week.chart:
        out.append(f'<figure><img src="{_e(week.chart)}" alt="{_e(week.title)}: штрафные очки">'
                   "<figcaption>Штрафные очки участников: чем короче столбец, тем выше место."
                   "</figcaption></figure>")
    if week.trend:
        out.append(f'<figure><img src="{_e(week.trend)}" '
                   f'alt="{_e(week.title)}: места лидеров за {TREND_WEEKS} недель">'
                   f"<figcaption>Итоговые места пяти лидеров этой недели за последние "
                   f"{TREND_WEEKS} недель (1 — вверху; разрыв линии — нет в рейтинге той недели)."
                   "</figcaption></figure>")
    out += [extra, "</section>"]
    return "\n".join(out)


def _exclusions_html(rows: list[tuple[str, bool, int]]) -> str:
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{'— ' if excl else ''}{_e(EXCLUSION_REASONS.get(reason, reason))}</td>"
        f'<td class="n">{_e(_num(mentions))}</td></tr>' for reason, excl, mentions in rows)
    return ("<h3>«Что говорит народ»: какие упоминания засчитаны</h3>"
            "<table><thead><tr><th>шаг отбора (§1)</th><th class=\"n\">упоминаний</th></tr>"
            f"</thead><tbody>{body}</tbody></table>")


def _freshness_html(weeks: Sequence[RatingWeek], freshness: dict) -> str:
    rated = [w for w in weeks if w.rows]
    published = max(w.rows[0]["published_at"] for w in rated)
    items = [("Опубликовано", _moment(published))]
    items += [(f"Ревизия: {w.title}", str(w.revision)) for w in rated]
    versions = sorted({w.rows[0]["methodology_version"] for w in rated})
    items.append(("Версия методики", ", ".join(versions)))
    last = freshness["last_load"]
    if last is not None:
        items.append(("Последняя загрузка новых строк",
                      f"{_moment(last[0])}, строк: {_num(last[2])}"))
    for started, finished, status, loaded, quarantined, revision in freshness["runs"]:
        what = f"опубликована ревизия {revision}" if revision else "без новой ревизии"
        items.append((f"Запуск недели {started.astimezone(ALMATY):%d.%m %H:%M}",
                      f"{STATUSES.get(status, status)}, завершён {_moment(finished)}; "
                      f"загружено строк {_num(loaded)}, в карантине {_num(quarantined)}; {what}"))
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
    return f'<h2 id="freshness">Свежесть данных</h2><dl class="fresh">{body}</dl>'


def _method_html(weeks: Sequence[RatingWeek]) -> str:
    rule = _tie_rule(weeks)
    ties = {
        "dense": "в этом выпуске — «плотный» ранг (1, 1, 2, 3): после равных следующее место "
                 "идёт подряд",
        "competition": "«спортивный» ранг (1, 1, 3, 4): равные делят место, следующее "
                       "пропускается",
        None: "по умолчанию — «спортивный» ранг (1, 1, 3, 4): равные делят место, следующее "
              "пропускается",
    }[rule]
    return (
        '<h2 id="method">Как считаются места</h2><div class="note">'
        "<p>Неделя — с пятницы 00:00 до следующей пятницы 00:00 по времени Алматы; она "
        "называется по первому дню. По каждому показателю все участники рейтинга получают "
        "место (больше — лучше); у кого значения нет, делят последнее место.</p>"
        "<p><b>Штрафные очки</b> — сумма мест участника по всем показателям (с весом "
        "показателя, по умолчанию 1). <b>Итоговое место</b> — по штрафным очкам: чем меньше "
        "очков, тем выше место.</p>"
        f"<p><b>Равные значения</b> делят место: {_e(ties)}. Это касается и мест по "
        "показателям, и итогового места.</p>"
        "<p><b>Перемещение</b> (▲ вверх, ▼ вниз, = без изменений) — разница с итоговым "
        "местом прошлой недели; «new» — участника на прошлой неделе в рейтинге не было.</p>"
        "<p>Опубликованный рейтинг недели не меняется; если пришли поздние данные или "
        "изменилась методика, выходит следующая ревизия. Полные правила — в документе "
        "<b>METHODOLOGY</b> проекта govpulse (<code>docs/spec/METHODOLOGY.md</code>, разделы "
        "§0–§4); каждое место можно пересчитать вручную по опубликованным значениям.</p>"
        "</div>")


def _page(period_start: date, weeks: Sequence[RatingWeek],
          exclusions: list[tuple[str, bool, int]], freshness: dict) -> str:
    period_end = period_start + timedelta(days=7)
    title = f"Акиматы в соцсетях: еженедельный бюллетень, неделя с {period_start:%d.%m.%Y}"
    nav = "".join(f'<li><a href="#{_e(w.stem)}">{_e(w.title)}</a></li>' for w in weeks)
    sections = "\n".join(
        _rating_section(w, _exclusions_html(exclusions) if w.stem == "people" else "")
        for w in weeks)
    return f"""<!DOCTYPE html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<h1>Акиматы в соцсетях</h1>
<p class="lead">Еженедельный бюллетень рейтингов · неделя {_e(_day(period_start))} —
{_e(_day(period_end - timedelta(days=1)))} (с пятницы по четверг, время Алматы)</p>
<nav><b>Рейтинги недели:</b><ul>{nav}<li><a href="#method">Как считаются места</a></li>
<li><a href="#freshness">Свежесть данных</a></li></ul></nav>
</header>
{sections}
{_method_html(weeks)}
{_freshness_html(weeks, freshness)}
<footer>Сформировано govpulse из опубликованного файла рейтингов. Названия — по реестру
(русское и казахское, где оно есть).</footer>
</main>
</body>
</html>
"""
