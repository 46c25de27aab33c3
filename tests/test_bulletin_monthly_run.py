"""The monthly bulletin of a real monthly run (the pipeline's steps and the real dbt, no Airflow)
on a Mari El-like registry: territory.yml in Europe/Moscow, Russian only, two body groups named
by body_groups.csv. Response times worked out by hand below."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from govpulse.run import pipeline
from govpulse.settings import DBT_PROJECT_DIR, Paths
from tests.support import write_files

pytestmark = pytest.mark.dbt  # the real dbt CLI (tests/conftest.py tiers)

NOVEMBER = date(2026, 11, 1)
REGISTRY = {
    "territory.yml": "territory_id: ru-mari-el\nname_ru: Республика Марий Эл\n"
                     "timezone: Europe/Moscow\nlanguages: [ru]\nratings: [incidents, fakes]\n",
    "body_groups.csv": "body_group,name_ru,name_kk\n"
                       "municipal,органы исполнительной власти и местного самоуправления,\n"
                       "ministry,министерства,\n",
    "entities.csv": """
entity_id,level,name_ru,name_kk,parent_id,body_group,valid_from,valid_to
88604000,district,Волжский муниципальный район,,,municipal,,
88701000,city,городской округ «Город Йошкар-Ола»,,,municipal,,
body-minzdrav,body,Министерство здравоохранения Республики Марий Эл,,,ministry,,
body-minfin,body,Министерство финансов Республики Марий Эл,,,ministry,,
""",
    "populations.csv": "entity_id,population,population_date\n",
    "pages.csv": "page_id,platform,platform_page_id,entity_id,page_kind\n",
    "aliases.csv": "entity_id,alias\n",
    "excluded_sources.csv": "platform,source_id,reason\n",
}
HEADER = ("incident_id,detected_at,body_id,category,municipality_id,first_response_at,"
          "resolved_at,answer_quality,satisfaction\n")
# Local (Moscow) times; response minutes in the comments.
INCIDENTS = HEADER + """\
v1,2026-11-02 09:00,88604000,ЖКХ,88604000,2026-11-02 10:00,2026-11-03 09:00,5,satisfied
v2,2026-11-03 09:00,88604000,ЖКХ,88604000,2026-11-03 11:14,2026-11-04 09:00,4,satisfied
y1,2026-11-02 09:00,88701000,Дороги,88701000,2026-11-02 09:30,,3,
y2,2026-11-03 09:00,88701000,Дороги,88701000,2026-11-03 10:00,,3,
y3,2026-11-04 09:00,88701000,ЖКХ,88701000,2026-11-04 09:35,2026-11-05 09:00,4,unsatisfied
z1,2026-11-05 09:00,body-minzdrav,Здоровье,88701000,2026-11-05 11:05,2026-11-06 09:00,4,satisfied
z2,2026-11-06 09:00,body-minzdrav,Здоровье,88604000,2026-11-06 11:05,,3,
f1,2026-11-05 09:00,body-minfin,Налоги,88701000,2026-11-06 12:00,2026-11-07 09:00,5,satisfied
f2,2026-11-06 09:00,body-minfin,Налоги,88701000,2026-11-07 12:00,,5,
"""
FAKES = """\
fake_id,claim,first_seen_at,platform,url,reach,body_id,refuted_at,refutation_url,refutation_reach
w1,В Йошкар-Оле отключат воду,2026-11-03 10:00,vk,https://vk.com/wall-1_1,1000,88701000,\
2026-11-03 16:00,https://vk.com/wall-1_2,400
p1,Поликлиники закроют,2026-11-10 09:00,telegram,,500,body-minzdrav,2026-11-12 09:00,,100
d1,Лекарств нет,2026-11-20 09:00,telegram,https://t.me/x/1,3000,body-minzdrav,,,
"""
# Fakes: 3 found, 2 refuted (66.7 %), after 6 h and 48 h: median 27 h «1 день 3 часа»; within
# 24 h 1 of 3 (33.3 %); reach 4,500 against 500 (0.11).
# Волжский: (60 + 134) / 2 = 97 min «1 час 37 минут», 2 solved, quality 4.5
# Йошкар-Ола: (30 + 60 + 35) / 3 = 41.67 min «42 минуты» (rounded), 1 solved, quality 3.33
# Минздрав: 125 min «2 часа 5 минут»; Минфин: 27 h = «1 день 3 часа»


def dbt_build(run: pipeline.RunContext, selector: str, root: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--selector", selector,
         "--exclude-resource-type", "unit_test", "--vars", json.dumps(pipeline.dbt_vars(run)),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--project-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(root / "target"), "--log-path", str(root / "logs")],
        env={**os.environ, **pipeline.dbt_env(run)}, capture_output=True, text=True,
        check=False)
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("mari-el-month")
    paths = Paths.resolve(
        inbox=write_files(root / "inbox", {"incidents/november.csv": INCIDENTS,
                                           "fakes/november.csv": FAKES}),
        registry=write_files(root / "registry", REGISTRY),
        warehouse=root / "private" / "warehouse.duckdb",
        publish_dir=root / "publish",
    )
    run = pipeline.start_run(paths, NOVEMBER, kind="monthly", docs=False)
    pipeline.land(run)
    pipeline.validate(run, "raw")
    dbt_build(run, "monthly_transform", root)
    pipeline.validate(run, "candidates")
    dbt_build(run, "monthly_marts", root)
    return {"published": pipeline.publish(run), "paths": paths}


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_run_writes_the_month_bulletin(outcome: dict) -> None:
    published = outcome["published"]
    assert published["status"] == "success", published
    assert published["problems"] == []
    index = outcome["paths"].bulletin_dir / "2026-11-01" / "index.html"
    assert published["bulletin"] == str(index)
    assert {p.name for p in index.parent.iterdir()} == {
        "index.html", "incidents.csv", "incident_stats.csv", "fakes.csv", "fakes_unrefuted.csv",
        "fakes_by_body.csv"}


def test_leaders_of_each_group_in_mari_el_words(outcome: dict) -> None:
    page = text((outcome["paths"].bulletin_dir / "2026-11-01" / "index.html")
                .read_text(encoding="utf-8"))
    assert "Республика Марий Эл · Инцидент Менеджмент · итоги за ноябрь 2026" in page
    assert "время Москвы" in page and "(Москва)" in page and "Алмат" not in page
    assert "акимат" not in page.lower()
    assert "Поступило 9 обращений жителей в адрес 4 органов власти." in page
    municipal = page.index("Органы исполнительной власти и местного самоуправления Поступило 5")
    ministry = page.index("Министерства Поступило 4 обращения")
    assert municipal < ministry
    assert ("Быстрее всех реагируют на обращения (среднее время ответа) "
            "городской округ «Город Йошкар-Ола» — 42 минуты "
            "Волжский муниципальный район — 1 час 37 минут") in page[municipal:ministry]
    assert ("Больше всех решённых проблем Волжский муниципальный район — решено 2 из 2 "
            "обращений") in page[municipal:ministry]
    assert ("Лучшее качество ответов (средняя оценка, от 1 до 5) Волжский муниципальный район "
            "— 4,5") in page[municipal:ministry]
    assert ("Быстрее всех реагируют на обращения (среднее время ответа) "
            "Министерство здравоохранения Республики Марий Эл — 2 часа 5 минут "
            "Министерство финансов Республики Марий Эл — 1 день 3 часа") in page[ministry:]
    assert "Самые частые темы обращений: ЖКХ (3); Дороги (2)" in page


def test_the_fakes_section_of_the_month(outcome: dict) -> None:
    page = text((outcome["paths"].bulletin_dir / "2026-11-01" / "index.html")
                .read_text(encoding="utf-8"))
    start = page.index("Фейки и их опровержение За месяц")
    fakes = page[start:page.index("Как составлен рейтинг Учитываются")]
    assert "За месяц выявлено 3 фейка, опровергнуто 2 (66,7 %)." in fakes
    assert "Медианное время до опровержения 1 день 3 часа" in fakes
    assert "Опровергнуто в течение суток 33,3 %" in fakes
    assert "Охват фейков 4 500 Охват опровержений 500" in fakes
    assert "Охват опровержений к охвату фейков 0,11" in fakes
    assert ("Не опровергнуты Утверждение Впервые замечено Платформа Охват Орган "
            "Лекарств нет 20.11.2026 09:00 (Москва) telegram 3 000 "
            "Министерство здравоохранения Республики Марий Эл") in fakes
    assert ("Министерство здравоохранения Республики Марий Эл 2 2 дня "
            "городской округ «Город Йошкар-Ола» 1 6 часов") in fakes
