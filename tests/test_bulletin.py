"""The weekly bulletin: files, escaping, charts, and rendering in a real headless Chromium."""

from __future__ import annotations

import csv
import html
import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from govpulse.publish.bulletin import write_bulletin
from govpulse.publish.report import LABELS
from govpulse.publish.report import RATINGS as REPORT_RATINGS

CHROMIUM = Path("/usr/bin/chromium")
KAZAKH = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"
WEEK = date(2026, 11, 13)
PREVIOUS = WEEK - timedelta(days=7)
EVIL = '<script>alert("x")</script> & «Ко»'

# (relation, indicators, page rating?, units: id, name, Kazakh name, [values this week],
# [values previous week] or None when new this week)
RATINGS = (
    ("rating_people_weekly", ("mentions", "engagement", "engagement_per_1k_pop",
                              "sentiment_audience_net"), False, [
        ("750000000", "г. Алматы", "Алматы қаласы", [400, 9000, 4.5, 1200], [300, 8000, 4.0, 900]),
        ("790000000", "г. Шымкент", "Шымкент қаласы", [150, 3000, 2.5, -300], [500, 9500, 7.1, 50]),
        ("620000000", "область Ұлытау", "Ұлытау облысы", [150, 2500, 11.0, 40], [20, 100, 0.5, 0]),
        ("100000000", EVIL, None, [1, 2, 0.01, -5], None),
    ]),
    ("rating_region_pages_weekly", ("subscribers", "engagement", "er_subscribers_pct",
                                    "engagement_per_1k_pop"), True, [
        ("p-1", "Ақмола облысының әкімдігі", None, [5000, 700, 14.0, 0.9], [4900, 100, 2.0, 0.1]),
        ("p-2", "акимат области Абай", "Абай облысы әкімдігі", [9000, 300, 3.3, 0.5],
         [9000, 900, 10.0, 1.5]),
    ]),
    ("rating_district_pages_weekly", ("subscribers", "engagement", "er_subscribers_pct",
                                      "engagement_per_1k_pop"), True, [
        ("p-3", "Исатай ауданының әкімдігі", None, [2000, 400, 20.0, 15.0], None),
        ("p-4", "Жуалы ауданының әкімдігі", None, [3000, 100, None, 1.0], [3000, 50, 1.0, 0.5]),
    ]),
    ("rating_insta_akims_weekly", ("real_subscribers", "engaged_users", "er_real_pct"), True, [
        ("p-5", "Дархан Сейтқазиев", None, [26000.5, 1300, 5.0], [25000.0, 1000, 4.0]),
        ("p-6", "Динара Жұмабаева", None, [24000.0, 700, 2.9], [24000.0, 900, 3.0]),
    ]),
)


def _build_published(path: Path) -> None:
    """A tiny published file with the columns of CONTRACTS §4 (no Airflow, no dbt)."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA ops")
    for relation, indicators, pages, units in RATINGS:
        values = []
        for week, offset in ((WEEK, 3), (PREVIOUS, 4)):
            for unit_id, name, name_kk, this, previous in units:
                numbers = this if offset == 3 else previous
                if numbers is None:
                    continue
                values.append([week, unit_id, name, name_kk, *numbers])
        columns = ["period_start", "unit_id", "unit_name", "unit_name_kk", *indicators]
        row = "(" + ", ".join(["?"] * len(columns)) + ")"
        con.execute(
            f"CREATE TABLE input AS SELECT * FROM (VALUES {', '.join([row] * len(values))}) "
            f"t({', '.join(columns)})", [v for row in values for v in row])
        places = ", ".join(
            f"CAST(rank() OVER (PARTITION BY period_start ORDER BY {i} DESC NULLS LAST) AS INTEGER)"
            f" AS place_{i}" for i in indicators)
        penalty = " + ".join(f"place_{i}" for i in indicators)
        page_columns = ("unit_name || ' (район)' AS entity_name, 'telegram' AS platform, "
                        "unit_id AS entity_id, 'https://t.me/' || unit_id AS url, "
                        if pages else "")
        con.execute(f"""
            CREATE TABLE marts.{relation} AS
            WITH placed AS (SELECT *, {places} FROM input),
            scored AS (SELECT *, CAST({penalty} AS DOUBLE) AS penalty_points FROM placed),
            final AS (SELECT *, CAST(rank() OVER (PARTITION BY period_start
                                                  ORDER BY penalty_points) AS INTEGER)
                                 AS final_place FROM scored)
            SELECT period_start, period_start + 7 AS period_end, 1 AS revision,
                   'test-1' AS methodology_version,
                   TIMESTAMPTZ '2026-11-20 13:00:00+00' AS published_at,
                   unit_id, unit_name, unit_name_kk, {page_columns}
                   {', '.join(indicators)}, {', '.join(f'place_{i}' for i in indicators)},
                   penalty_points, final_place,
                   CAST(lag(final_place) OVER (PARTITION BY unit_id ORDER BY period_start)
                        - final_place AS INTEGER) AS movement
            FROM final""")
        con.execute("DROP TABLE input")
        con.execute(f"CREATE VIEW marts.{relation}_current AS SELECT * FROM marts.{relation}")
    con.execute("""
        CREATE TABLE marts.rating_people_weekly_exclusions AS
        SELECT DATE '2026-11-13' AS period_start, DATE '2026-11-20' AS period_end,
               1 AS revision, 'test-1' AS methodology_version,
               TIMESTAMPTZ '2026-11-20 13:00:00+00' AS published_at, * FROM (VALUES
            (0, 'delivered', false, 900), (4, 'spam_author', true, 12), (5, 'eligible', false, 701)
        ) t(step, reason, is_exclusion, mentions)""")
    con.execute("""
        CREATE TABLE ops.runs AS SELECT * FROM (VALUES
            ('weekly-1', 'weekly', DATE '2026-11-13', TIMESTAMPTZ '2026-11-20 12:50:00+00',
             TIMESTAMPTZ '2026-11-20 13:00:00+00', 'success', '{"mentions": 900}'::JSON,
             900, 3, 4, 0, 1, 'published revision 1')
        ) t(run_id, kind, period_start, started_at, finished_at, status, rows_loaded,
            rows_loaded_total, rows_quarantined, files_loaded, files_skipped,
            revision_published, message)""")
    con.close()


@pytest.fixture(scope="module")
def bulletin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bulletin")
    published = root / "warehouse.duckdb"
    _build_published(published)
    index = write_bulletin(published, WEEK, root / "out")
    assert index == root / "out" / WEEK.isoformat() / "index.html"
    return index


def test_bulletin_files(bulletin: Path) -> None:
    folder = bulletin.parent
    for stem, units in (("people", 4), ("region_pages", 2), ("district_pages", 2),
                        ("insta_akims", 2)):
        with (folder / f"{stem}.csv").open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == units
        assert {"final_place", "penalty_points", "movement", "unit_name"} <= rows[0].keys()
        for chart in (f"{stem}_points.png", f"{stem}_trend.png"):
            assert (folder / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f'src="{chart}"' in bulletin.read_text(encoding="utf-8")
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_bulletin_html(bulletin: Path) -> None:
    page = bulletin.read_text(encoding="utf-8")
    assert '<html lang="ru">' in page
    # Names are escaped by the template engine (MarkupSafe spells " as &#34;): the registry is
    # data, not markup.
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; «Ко»" in page
    # Kazakh names (lang="kk"), movements (▲ ▼ = new), penalty points, Russian indicator labels.
    assert '<span class="kk" lang="kk">Алматы қаласы</span>' in page
    assert "Исатай ауданының әкімдігі" in page
    for mark in ("▲", "▼", "=</span>", ">new<"):
        assert mark in page
    assert "Штрафные очки" in page and "вовлечённость" in page and "ER реальн., %" in page
    for _, title, indicators, kind, _ in REPORT_RATINGS:
        if kind == "week":
            assert f"<h2>{title}</h2>" in page
            assert all(f'<th class="n">{html.escape(LABELS[i])}</th>' in page for i in indicators)
    # Page links: https only as links; the platform and the page's own name under the unit.
    assert '<a href="https://t.me/p-3">Исатай ауданының әкімдігі</a>' in page
    assert "<td>Telegram</td>" in page and "Жуалы ауданының әкімдігі (район)" in page
    # Methodology note and freshness.
    assert "METHODOLOGY" in page and "1, 1, 3, 4" in page
    assert "20.11.2026 18:00 (Алматы)" in page  # published_at in Asia/Almaty (UTC+5)
    assert "допущено к подсчёту" in page
    # Self-contained: no external stylesheets, scripts or images.
    assert not re.search(r"<link|<script|src=\"(https?:)?//", page)


def test_missing_week(tmp_path: Path, bulletin: Path) -> None:
    with pytest.raises(ValueError, match="no weekly rating"):
        write_bulletin(bulletin.parents[2] / "warehouse.duckdb", date(2020, 1, 3), tmp_path)
    with pytest.raises(FileNotFoundError):
        write_bulletin(tmp_path / "absent.duckdb", WEEK, tmp_path)


def test_link_only_for_http_urls(tmp_path: Path) -> None:
    published = tmp_path / "warehouse.duckdb"
    _build_published(published)
    with duckdb.connect(str(published)) as con:
        con.execute("UPDATE marts.rating_region_pages_weekly SET url = 'javascript:alert(1)', "
                    "unit_name = 'A & B <i>' WHERE unit_id = 'p-1'")
    page = write_bulletin(published, WEEK, tmp_path / "out").read_text(encoding="utf-8")
    assert "javascript:" not in page
    assert "<td>A &amp; B &lt;i&gt;<span" in page


def test_withdrawn_week(tmp_path: Path) -> None:
    published = tmp_path / "warehouse.duckdb"
    _build_published(published)
    withdrawn = WEEK + timedelta(days=7)  # no rating rows that week
    with duckdb.connect(str(published)) as con:
        con.execute("CREATE TABLE marts.withdrawals AS SELECT 'weekly' AS kind, "
                    "?::DATE AS period_start, 2 AS revision, "
                    "TIMESTAMPTZ '2026-11-28 07:30:00+00' AS published_at, ? AS reason",
                    [withdrawn, EVIL])
    index = write_bulletin(published, withdrawn, tmp_path / "out")
    assert [p.name for p in index.parent.iterdir()] == ["index.html"]
    page = index.read_text(encoding="utf-8")
    assert "<title>Рейтинги недели с 20 ноября 2026 отозваны</title>" in page
    assert "Публикация отозвана 28.11.2026 12:30 (Алматы) (ревизия 2)" in page
    assert "<script>" not in page
    assert page.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; «Ко»") == 2
    assert "the ratings of the week 2026-11-20 were withdrawn" in page


def test_templates_ship_with_the_package() -> None:
    import govpulse.publish
    from govpulse.publish.bulletin import TEMPLATES

    # Loaded from the package, not the working directory; HTML templates autoescape.
    folder = Path(govpulse.publish.__file__).parent / "templates"
    for name in ("bulletin.html.j2", "withdrawn.html.j2", "_rating.html.j2"):
        assert Path(TEMPLATES.get_template(name).filename).parent == folder
        assert TEMPLATES.autoescape(name)


def test_chart_font_has_kazakh_glyphs() -> None:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    from govpulse.publish.bulletin import CHART_FONT

    font = FT2Font(font_manager.findfont(CHART_FONT, fallback_to_default=False))
    charmap = font.get_charmap()
    assert not [c for c in KAZAKH + "▲▼−" if ord(c) not in charmap]


# --- real headless Chromium -------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is absent: install the Debian package `chromium` "
           "(.ci/run does) to render the bulletin in a real browser")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    result = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _screenshot(tmp_path: Path, url: str, name: str, size: str = "1280,2000"):
    from matplotlib.image import imread

    png = tmp_path / f"{name}.png"
    _chromium(tmp_path, f"--screenshot={png}", f"--window-size={size}", url)
    assert png.exists() and png.stat().st_size > 0
    return imread(png)


@needs_chromium
def test_chromium_renders_tables(bulletin: Path, tmp_path: Path) -> None:
    dom = _chromium(tmp_path, "--dump-dom", bulletin.as_uri()).stdout
    tables = re.findall(r"<tbody>(.*?)</tbody>", dom, re.S)
    # Four ratings; the exclusions of «Что говорит народ» follow its table.
    assert [len(re.findall(r"<tr>", t)) for t in tables] == [4, 3, 2, 2, 2]
    for name in ("г. Алматы", "Алматы қаласы", "Ақмола облысының әкімдігі",
                 "Жуалы ауданының әкімдігі", "Динара Жұмабаева", "&lt;script&gt;"):
        assert name in dom
    image = _screenshot(tmp_path, bulletin.as_uri(), "bulletin")
    assert image.shape[:2] == (2000, 1280)
    assert image.std() > 0.05  # not a blank page


@needs_chromium
def test_chromium_has_kazakh_glyphs(tmp_path: Path) -> None:
    fonts = subprocess.run(["fc-list", ":charset=04d9 0493 049b 04a3 04e9 04b1 04af 04bb 0456",
                            "family"], capture_output=True, text=True, check=False).stdout
    assert fonts.strip(), "no installed font covers the Kazakh letters"
    # Each Kazakh letter above a never-assigned code point (U+0378, drawn as the missing-glyph
    # box): a letter without a glyph would look exactly like the box under it.
    cells = "".join(
        f'<div style="left:{i * 50}px;top:0">{c}</div>'
        f'<div style="left:{i * 50}px;top:100px">&#x378;</div>'
        for i, c in enumerate(KAZAKH))
    control = ('<div style="left:0;top:200px">&#x378;</div>'
               '<div style="left:50px;top:200px">&#x379;</div>')
    page = tmp_path / "glyphs.html"
    page.write_text(
        '<!DOCTYPE html><html lang="kk"><meta charset="utf-8"><style>'
        'body{margin:0;background:#fff} div{position:absolute;width:50px;height:80px;'
        'font:48px/80px "DejaVu Sans",sans-serif;color:#000}</style>'
        f"<body>{cells}{control}</body></html>", encoding="utf-8")
    image = _screenshot(tmp_path, page.as_uri(), "glyphs", f"{50 * len(KAZAKH)},300")

    def cell(i: int, top: int):
        return image[top:top + 80, i * 50:i * 50 + 50, :3]

    # The method works: two missing glyphs render identically and are not blank.
    assert (cell(0, 200) == cell(1, 200)).all()
    missing = cell(0, 100)
    assert missing.std() > 0
    blank = [c for i, c in enumerate(KAZAKH) if cell(i, 0).std() == 0]
    assert not blank, f"letters drawn blank: {blank}"
    tofu = [c for i, c in enumerate(KAZAKH) if (cell(i, 0) == missing).all()]
    assert not tofu, f"letters without a glyph: {tofu}"

