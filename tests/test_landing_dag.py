"""Issue 14, cases 1, 2 and 8 through the real weekly DAG: an inbox holding a Brand Analytics
CSV saved on Windows, a canonical mentions CSV saved by Excel in a Russian locale (semicolons)
and a mentions CSV with a wrong header. The week publishes, the mentions of both saved files
count in the people rating, and the wrong header is one quarantine entry naming the file and
its columns; ops.loaded_files shows records / landed / quarantined per file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from govpulse.orchestration.runner import run_weekly
from govpulse.settings import Paths
from tests.support import two_region_registry, write_files
from tests.test_saved_files import BA_PREAMBLE, ba_file, canonical_file

WEEK = date(2026, 11, 13)

EXCEL_RECORDS = [
    {"platform": "vk", "mention_id": f"e{i}", "published_at": f"2026-11-{14 + i % 5} 10:{i:02d}",
     "text": f"Жалоба №{i}; дороги,\nвторая строка", "author_id": f"excel{i}",
     "author_type": "person", "sentiment": ("positive", "negative", "neutral")[i % 3],
     "likes": str(i), "entity_id": "A"}
    for i in range(12)
]
BA_RECORDS = [
    {"Дата": f"1{4 + i}.11.2026 1{i}:00", "ID сообщения": f"ba{i}",
     "Текст": f"Вторая область;\nжалоба {i}", "Источник": "vk.com",
     "Url": f"http://vk.com/wall1_{i}", "Автор": f"Автор {i}",
     "Url автора": f"http://vk.com/id{i}", "Тип автора": "Личный профиль",
     "Лайков": "2", "Тональность": "негатив"}
    for i in range(3)
]
WRONG_HEADER = ("platform,id,date,author,type,tone\n"
                "vk,w1,2026-11-14 10:00,a,person,neutral\n")


def windows_ba_csv() -> bytes:
    """The table in CRLF with line breaks inside quoted texts, BA's preamble in LF."""
    table = ba_file(BA_RECORDS, ";", "crlf", "eol")
    return ("\n".join(BA_PREAMBLE) + "\n" + table[len("\r\n".join(BA_PREAMBLE) + "\r\n"):]
            ).encode()


@pytest.fixture(scope="module")
def week(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("saved_files")
    registry = two_region_registry(root / "registry")
    write_files(registry, {"aliases.csv": "entity_id,alias\nB,Вторая область\n"})
    inbox = root / "inbox"
    (inbox / "mentions").mkdir(parents=True)
    (inbox / "mentions" / "ba_windows.csv").write_bytes(windows_ba_csv())
    (inbox / "mentions" / "excel_ru.csv").write_bytes(
        b"\xef\xbb\xbf" + canonical_file(EXCEL_RECORDS, ";", "crlf", "eol").encode())
    (inbox / "mentions" / "wrong_header.csv").write_text(WRONG_HEADER, encoding="utf-8")
    paths = Paths.resolve(inbox=inbox, registry=registry, warehouse=root / "w.duckdb",
                          publish_dir=root / "publish")
    outcome = run_weekly(paths, WEEK, docs=False)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        files = con.execute(
            "SELECT file, records, rows_loaded, rows_quarantined, conservation "
            "FROM ops.loaded_files ORDER BY file").fetchall()
        quarantine = con.execute(
            "SELECT file, line, reason FROM ops.quarantine ORDER BY file, line").fetchall()
    published = None
    if paths.published_file.exists():
        with duckdb.connect(str(paths.published_file), read_only=True) as con:
            published = con.execute(
                "SELECT unit_id, mentions FROM marts.rating_people_weekly_current "
                "WHERE period_start = ? ORDER BY unit_id", [WEEK]).fetchall()
    return {"outcome": outcome, "files": files, "quarantine": quarantine,
            "published": published}


def test_the_week_publishes_with_the_mentions_of_both_saved_files(week: dict) -> None:
    assert week["outcome"].ok, week["outcome"].reason
    assert week["published"] == [("A", len(EXCEL_RECORDS)), ("B", len(BA_RECORDS))]


def test_each_file_shows_records_landed_and_quarantined(week: dict) -> None:
    assert week["files"] == [
        ("mentions/ba_windows.csv", 3, 3, 0, "balanced"),
        ("mentions/excel_ru.csv", 12, 12, 0, "balanced"),
        ("mentions/wrong_header.csv", 1, 0, 1, "file quarantined"),
    ]


def test_the_wrong_header_is_one_entry_naming_the_file_and_its_columns(week: dict) -> None:
    [(file, line, reason)] = week["quarantine"]
    assert (file, line) == ("mentions/wrong_header.csv", None)
    assert reason.startswith("mentions/wrong_header.csv: the header does not match the "
                             "mentions contract")
    assert "required columns missing: mention_id, published_at, author_id, author_type, " \
        "sentiment" in reason
    assert "The file's columns: platform, id, date, author, type, tone" in reason
