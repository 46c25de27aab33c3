"""The monthly bulletin (govpulse.publish.bulletin_monthly) rendered from a small published file
built by hand: leaders and tables per body group, group names from body_groups.csv, moments in
the territory's zone, the fakes section only when the file has the month's figures."""

from __future__ import annotations

import csv
import html
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from govpulse.publish.body_groups import load_group_labels
from govpulse.publish.bulletin_monthly import write_monthly_bulletin
from govpulse.territory import Territory
from tests.support import write_files

MONTH = date(2026, 11, 1)
EVIL = '<script>alert("x")</script> & «Ко»'
MARI_EL = Territory(territory_id="ru-mari-el", timezone="Europe/Moscow", languages=("ru",),
                    name_ru="Республика Марий Эл")
KAZAKH = Territory(territory_id="kz")
GROUP_FILE = ("body_group,name_ru,name_kk\n"
              "municipal,органы исполнительной власти и местного самоуправления,\n"
              "ministry,министерства,\n")

# unit_id, name, name_kk, group, incidents, avg minutes, resolved, satisfied %, quality,
# places of the four, penalty, final place, movement
UNITS = [
    ("M1", "Волжский муниципальный район", "Волжск ауданы", "municipal", 10, 97.0, 8, 75.0,
     4.5, 2, 1, 2, 1, 6, 1, 1),
    ("M2", "Городской округ «Город Йошкар-Ола»", None, "municipal", 20, 45.0, 5, 80.0, 4.0,
     1, 2, 1, 2, 6, 1, None),
    ("M3", EVIL, None, "municipal", 3, None, 0, None, None, 3, 3, 3, 3, 12, 3, -1),
    ("B1", "Министерство здравоохранения Республики Марий Эл", None, "ministry", 6, 125.0, 3,
     50.0, 3.0, 2, 1, 1, 2, 6, 2, 0),
    ("B2", "Министерство финансов Республики Марий Эл", None, "ministry", 4, 27 * 60.0, 1,
     None, 5.0, 1, 2, 2, 1, 6, 1, None),
]
STATS = [
    ("all", 43, 5, 93.0, 7.5, 40.0, 70.0, "ЖКХ (20); Дороги (10)", "Йошкар-Ола (25); Волжск (8)"),
    ("municipal", 33, 3, 91.0, 9.1, 39.4, 75.0, "ЖКХ (18)", "Йошкар-Ола (25)"),
    ("ministry", 10, 2, 100.0, 0.0, 40.0, 50.0, "Здравоохранение (6)", "Волжск (3)"),
]


def build(path: Path, fakes: bool = True, fakes_row: bool = True) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA ops")
    con.execute("""
        CREATE TABLE marts.rating_incidents_monthly_current (
            period_start DATE, period_end DATE, revision INTEGER, methodology_version VARCHAR,
            published_at TIMESTAMPTZ, unit_id VARCHAR, unit_name VARCHAR, unit_name_kk VARCHAR,
            body_group VARCHAR, incidents BIGINT, answered_pct DOUBLE, overdue_pct DOUBLE,
            avg_response_minutes DOUBLE, resolved_count BIGINT, resolved_satisfied_pct DOUBLE,
            answer_quality_avg DOUBLE, place_avg_response_minutes INTEGER,
            place_resolved_count INTEGER, place_resolved_satisfied_pct INTEGER,
            place_answer_quality_avg INTEGER, penalty_points DOUBLE, final_place INTEGER,
            movement INTEGER)""")
    for (uid, name, kk, group, n, avg, resolved, sat, quality, p1, p2, p3, p4, points, place,
         move) in UNITS:
        con.execute(
            "INSERT INTO marts.rating_incidents_monthly_current VALUES (?, ?, 2, 'm-v1', "
            "TIMESTAMPTZ '2026-12-01 09:00:00+00', ?, ?, ?, ?, ?, 90.0, 10.0, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?)",
            [MONTH, date(2026, 12, 1), uid, name, kk, group, n, avg, resolved, sat, quality,
             p1, p2, p3, p4, points, place, move])
    con.execute("""
        CREATE TABLE marts.incident_stats_monthly_current (
            period_start DATE, revision INTEGER, scope VARCHAR, incidents BIGINT, bodies BIGINT,
            answered_pct DOUBLE, overdue_pct DOUBLE, resolved_pct DOUBLE,
            satisfaction_pct DOUBLE, top_categories VARCHAR, top_municipalities VARCHAR)""")
    for row in STATS:
        con.execute("INSERT INTO marts.incident_stats_monthly_current VALUES "
                    "(?, 2, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [MONTH, *row])
    if fakes:
        start = MONTH if fakes_row else date(2026, 10, 1)
        con.execute("""
            CREATE TABLE marts.fakes_monthly_current AS SELECT ?::DATE AS period_start,
              1 AS revision, 7 AS fakes_found, 5 AS fakes_refuted, 71.428571 AS refuted_pct,
              5.5 AS median_hours_to_refutation, 42.857143 AS refuted_within_24h_pct,
              120000 AS reach_fakes, 30000 AS reach_refutations, 0.25 AS reach_ratio""",
                    [start])
        con.execute("""
            CREATE TABLE marts.fakes_unrefuted_monthly_current AS SELECT * FROM (VALUES
              (?::DATE, 'f1', 'Вода в Йошкар-Оле отравлена', TIMESTAMPTZ '2026-11-03 21:30:00+00',
               'vk', 'https://vk.com/wall-1_2', 90000, 'B1', 'Министерство здравоохранения'),
              (?::DATE, 'f2', ?, TIMESTAMPTZ '2026-11-04 08:00:00+00', 'telegram',
               'javascript:alert(1)', NULL, NULL, NULL)
            ) t(period_start, fake_id, claim, first_seen_at, platform, url, reach, body_id,
                body_name)""", [start, start, EVIL])
        con.execute("""
            CREATE TABLE marts.fakes_by_body_monthly_current AS SELECT * FROM (VALUES
              (?::DATE, 'B1', 'Министерство здравоохранения', 3, 2.0),
              (?::DATE, 'M2', 'Йошкар-Ола', 2, NULL)
            ) t(period_start, unit_id, unit_name, fakes_found, median_hours_to_refutation)""",
                    [start, start])
    con.execute("""
        CREATE TABLE ops.runs AS SELECT * FROM (VALUES
            ('m-1', 'monthly', DATE '2026-11-01', TIMESTAMPTZ '2026-12-01 08:50:00+00',
             TIMESTAMPTZ '2026-12-01 09:00:00+00', 'success', 43, 1, 2)
        ) t(run_id, kind, period_start, started_at, finished_at, status, rows_loaded_total,
            rows_quarantined, revision_published)""")
    con.close()
    return path


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def mari_el(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("monthly")
    registry = write_files(root / "registry", {"body_groups.csv": GROUP_FILE})
    return write_monthly_bulletin(build(root / "warehouse.duckdb"), MONTH, root / "out",
                                  MARI_EL, load_group_labels(registry))


def test_files(mari_el: Path) -> None:
    assert mari_el.parent.name == "2026-11-01"
    assert sorted(p.name for p in mari_el.parent.iterdir()) == [
        "fakes.csv", "fakes_by_body.csv", "fakes_unrefuted.csv", "incident_stats.csv",
        "incidents.csv", "index.html"]
    with (mari_el.parent / "incidents.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["unit_id"] for r in rows] == ["B2", "B1", "M1", "M2", "M3"]  # group, place, name
    assert rows[0]["published_at"].startswith("2026-12-01")


def test_mari_el_wording(mari_el: Path) -> None:
    text = text_of(mari_el.read_text(encoding="utf-8"))
    assert "Республика Марий Эл · Инцидент Менеджмент · итоги за ноябрь 2026" in text
    assert "(1 ноября 2026 — 30 ноября 2026, время Москвы)" in text
    assert "Опубликовано 01.12.2026 12:00 (Москва)" in text  # 09:00 UTC
    assert "Поступило 43 обращения жителей в адрес 5 органов власти." in text
    assert "Ответ дан на 93 % обращений, просрочено 7,5 %" in text
    assert "решено 40 %" in text
    assert "удовлетворённости жителей полученными ответами — 70 %" in text
    assert "Самые частые темы обращений: ЖКХ (20); Дороги (10)." in text
    assert "Больше всего обращений из муниципалитетов: Йошкар-Ола (25); Волжск (8)." in text
    assert "акимат" not in text.lower() and "Алмат" not in text
    assert "Волжск ауданы" not in text  # Mari El's readers read Russian only


def test_groups_ranked_separately_with_their_leaders(mari_el: Path) -> None:
    page = mari_el.read_text(encoding="utf-8")
    text = text_of(page)
    municipal = text.index("Органы исполнительной власти и местного самоуправления Поступило")
    ministry = text.index("Министерства Поступило")
    assert municipal < ministry
    group = text[municipal:ministry]
    assert ("Быстрее всех реагируют на обращения (среднее время ответа) "
            "Городской округ «Город Йошкар-Ола» — 45 минут "
            "Волжский муниципальный район — 1 час 37 минут") in group
    assert ("Больше всех решённых проблем Волжский муниципальный район — решено 8 из 10 "
            "обращений Городской округ «Город Йошкар-Ола» — решено 5 из 20 обращений "
            "Лучшее") in group  # M3 solved none: no leader
    assert "решено 1 из 4 обращений" in text
    assert "Поступило 33 обращения" in group
    ministries = text[ministry:]
    assert ("Министерство финансов Республики Марий Эл — 1 день 3 часа "
            "Министерство здравоохранения Республики Марий Эл — 2 часа 5 минут") in ministries
    assert ("Лучшее качество ответов (средняя оценка, от 1 до 5) "
            "Министерство финансов Республики Марий Эл — 5 ") in ministries
    # the leader lists give places, ties share them (M1 and M2 both 1st in the final table)
    assert '<li value="1">Городской округ' in page


def test_registry_values_are_text(mari_el: Path) -> None:
    page = mari_el.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; «Ко»" in page
    assert "javascript:" not in page
    assert '<a href="https://vk.com/wall-1_2">Вода в Йошкар-Оле отравлена</a>' in page


def test_fakes_section(mari_el: Path) -> None:
    text = text_of(mari_el.read_text(encoding="utf-8"))
    fakes = text[text.index("Фейки и их опровержение За месяц"):]
    assert "За месяц выявлено 7 фейков, опровергнуто 5 (71,4 %)." in fakes
    assert "Медианное время до опровержения 5 часов 30 минут" in fakes
    assert "Опровергнуто в течение суток 42,9 %" in fakes
    assert "Охват фейков 120 000" in fakes
    assert "Охват опровержений к охвату фейков 0,25" in fakes
    assert "Вода в Йошкар-Оле отравлена 04.11.2026 00:30 (Москва) vk 90 000" in fakes
    assert "Министерство здравоохранения 3 2 часа" in fakes


@pytest.mark.parametrize(("fakes", "fakes_row"), [(False, False), (True, False)])
def test_no_fakes_section_without_the_month(tmp_path: Path, fakes: bool,
                                             fakes_row: bool) -> None:
    published = build(tmp_path / "w.duckdb", fakes=fakes, fakes_row=fakes_row)
    page = write_monthly_bulletin(published, MONTH, tmp_path / "out", MARI_EL)
    assert "Фейки" not in page.read_text(encoding="utf-8")
    assert not list(page.parent.glob("fakes*"))


def test_kazakh_territory_keeps_its_labels_and_languages(tmp_path: Path) -> None:
    """Without body_groups.csv the built-in (Kazakh) labels; Kazakh names shown; Almaty time."""
    page = write_monthly_bulletin(build(tmp_path / "w.duckdb"), MONTH, tmp_path / "out",
                                  KAZAKH)
    text = text_of(page.read_text(encoding="utf-8"))
    assert "Акиматы районов и городов Поступило 33" in text
    assert "Волжск ауданы" in text
    assert "01.12.2026 14:00 (Алматы)" in text


def test_kazakh_registry_group_names() -> None:
    from govpulse.settings import PROJECT_DIR

    labels = load_group_labels(PROJECT_DIR / "registry" / "kz")
    assert labels["municipal"].name_ru == "акиматы районов и городов"
    mari_el = load_group_labels(PROJECT_DIR / "registry" / "ru-mari-el")
    assert [(c, label.name_ru) for c, label in mari_el.items()][:2] == [
        ("municipal", "органы исполнительной власти и местного самоуправления"),
        ("ministry", "министерства")]


def test_bad_group_file(tmp_path: Path) -> None:
    write_files(tmp_path, {"body_groups.csv": "body_group,name\nmunicipal,x\n"})
    with pytest.raises(ValueError, match="body_groups.csv: column name_ru is missing"):
        load_group_labels(tmp_path)
    write_files(tmp_path, {"body_groups.csv": "body_group,name_ru\nmunicipal,\n"})
    with pytest.raises(ValueError, match="line 2: body_group and name_ru are required"):
        load_group_labels(tmp_path)


def test_missing_month_and_file(tmp_path: Path) -> None:
    published = build(tmp_path / "w.duckdb")
    with pytest.raises(ValueError, match="nothing is published for the month 2026-10-01"):
        write_monthly_bulletin(published, date(2026, 10, 1), tmp_path / "out", MARI_EL)
    with pytest.raises(FileNotFoundError):
        write_monthly_bulletin(tmp_path / "absent.duckdb", MONTH, tmp_path / "out", MARI_EL)


def test_withdrawn_month(tmp_path: Path) -> None:
    published = build(tmp_path / "w.duckdb")
    with duckdb.connect(str(published)) as con:
        con.execute("""CREATE TABLE marts.withdrawals AS SELECT 'monthly' AS kind,
            DATE '2026-10-01' AS period_start, 3 AS revision,
            TIMESTAMPTZ '2026-11-20 10:00:00+00' AS published_at, 'неверный файл' AS reason""")
    page = write_monthly_bulletin(published, date(2026, 10, 1), tmp_path / "out", MARI_EL)
    text = text_of(page.read_text(encoding="utf-8"))
    assert "Рейтинги за октябрь 2026 отозваны" in text
    assert "Публикация отозвана 20.11.2026 13:00 (Москва) (ревизия 3). Причина: неверный файл" \
        in text


def test_the_registry_tools_leave_body_groups_alone(tmp_path: Path) -> None:
    """body_groups.csv is no registry table: the check and load ignore it, and rebuilding the
    Mari El registry (devtools.mari_el_registry) keeps it as it is."""
    import shutil

    from devtools import mari_el_registry
    from govpulse.settings import PROJECT_DIR
    from ingestion.registry import load_registry

    registry = tmp_path / "ru-mari-el"
    shutil.copytree(PROJECT_DIR / "registry" / "ru-mari-el", registry)
    kept = (registry / "body_groups.csv").read_bytes()
    mari_el_registry.build(mari_el_registry.REFERENCE_DIR, registry)
    assert (registry / "body_groups.csv").read_bytes() == kept
    with duckdb.connect() as con:
        assert load_registry(con, registry)["entities"] == 29


def test_weekly_bulletin_follows_the_territory(tmp_path: Path) -> None:
    """The weekly bulletin in another territory: its zone and city, no Kazakh names."""
    from govpulse.publish.bulletin import write_bulletin
    from tests.test_bulletin import WEEK, _build_published

    published = tmp_path / "w.duckdb"
    _build_published(published)
    kazakh = text_of(write_bulletin(published, WEEK, tmp_path / "kz").read_text(encoding="utf-8"))
    assert "время Алматы" in kazakh and "20.11.2026 18:00 (Алматы)" in kazakh
    assert "Алматы қаласы" in kazakh
    page = text_of(write_bulletin(published, WEEK, tmp_path / "ru", MARI_EL)
                   .read_text(encoding="utf-8"))
    assert "время Москвы" in page and "20.11.2026 16:00 (Москва)" in page
    assert "Алмат" not in page.replace("г. Алматы", "")  # a unit's name, not a zone
    assert "Алматы қаласы" not in page and "казахское" not in page


def test_zone_city_names() -> None:
    assert (MARI_EL.city_ru, MARI_EL.city_ru_genitive) == ("Москва", "Москвы")
    assert (KAZAKH.city_ru, KAZAKH.city_ru_genitive) == ("Алматы", "Алматы")
    other = Territory(territory_id="x", timezone="America/Lima")
    assert (other.city_ru, other.city_ru_genitive) == ("America/Lima", "America/Lima")
