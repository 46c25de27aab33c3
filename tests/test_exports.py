"""Native social-listening exports (Brand Analytics CSV/JSON, YouScan JSON) dropped into
`<inbox>/mentions/` land into raw.mentions through the real landing, with real DuckDB: format
recognised from the content, values mapped, bad records quarantined with line and reason."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from govpulse.warehouse.schema import connect
from ingestion import vendor_files as exports
from ingestion.landing import land_inbox
from tests.support import write_files

BA_COLUMNS = [
    "Дата", "ID сообщения", "Hash сообщения", "Заголовок", "Текст", "Источник", "Url",
    "Тип источника", "Тип сообщения", "Сюжет", "Автор", "Url автора", "Тип автора",
    "Место публикации", "Url места публикации", "Пол", "Возраст", "Аудитория", "Комментариев",
    "Цитируемость СМИ", "Репостов", "Лайков", "Вовлеченность", "Просмотров", "Оценка", "Дублей",
    "Аудитория СМИ", "Тональность", "Роль объекта", "Агрессия", "Страна", "Регион", "Город",
    "Язык", "WOM", "Обработано", "Место", "Адрес",
    "ОП", "Жалоба",  # the project's tag columns
]
BA_PREAMBLE = "Система Brand Analytics\nТема: Акиматы\nПериод: 13.11.26 - 19.11.26\n\n"
CANONICAL_HEADER = "platform,mention_id,published_at,text,author_id,author_type,sentiment,likes\n"


def _cell(value: str) -> str:
    if any(c in value for c in ';"\n ') or value == "":
        return '"' + value.replace('"', '""') + '"' if value else ""
    return value


def ba_header() -> str:
    return ";".join(_cell(c) for c in BA_COLUMNS) + "\n"


def ba_row(values: dict[str, str], extra: str = "") -> str:
    unknown = set(values) - set(BA_COLUMNS)
    assert not unknown, unknown
    defaults = {"Тип источника": "Соцсети", "Тип сообщения": "Пост", "Роль объекта": "Главная",
                "Страна": "Казахстан", "Язык": "Русский", "Обработано": "Да"}
    cells = [_cell({**defaults, **values}.get(c, "")) for c in BA_COLUMNS]
    return ";".join(cells) + extra + "\n"


def ba_csv(rows: list[str]) -> str:
    return BA_PREAMBLE + ba_header() + "".join(rows)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _land(warehouse: Path, inbox: Path, run_id: str = "r1"):
    with connect(warehouse) as con:
        report = land_inbox(con, inbox, run_id)
        quarantine = con.execute(
            "SELECT file, line, reason, raw_row FROM ops.quarantine WHERE run_id = ? "
            "ORDER BY file, line", [run_id],
        ).fetchall()
        cursor = con.execute(
            "SELECT * EXCLUDE (_load_id, _run_id, _loaded_at) FROM raw.mentions "
            "ORDER BY _file, _line"
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    for row in rows:
        row["published_at"] = row["published_at"].astimezone(UTC)
    return report, quarantine, rows


BA_CSV_ROWS = [
    # line 6: VK community post, entities, a counter with a space, empty numbers, a tag cell
    ba_row({
        "Дата": "14.11.2026 10:00", "ID сообщения": "1364", "Hash сообщения": "0a7e",
        "Текст": "Акимат &quot;Алматы&quot; &amp; дороги &lt;ремонт&gt; &#39;срочно&#39; &#33;",
        "Источник": "vk.com", "Url": "http://vk.com/wall-179002674_77309",
        "Автор": "Новости Алматы", "Url автора": "http://vk.com/club179002674",
        "Тип автора": "Сообщество", "Аудитория": "12 500", "Комментариев": "4",
        "Репостов": "2 786", "Лайков": "", "Просмотров": "31 000", "Тональность": "Позитив",
        "ОП": "ОП",
    }),
    # lines 7-8: Telegram person, a quoted text over two lines, title, seconds in the date
    ba_row({
        "Дата": "14.11.2026 23:30:15", "ID сообщения": "1365", "Заголовок": "Жалоба",
        "Текст": 'Вторая строка;\nс "кавычками"', "Источник": "Telegram",
        "Url": "https://t.me/almaty_chat/555", "Автор": "Алия",
        "Url автора": "https://t.me/aliya_k", "Тип автора": "Личный профиль",
        "Место публикации": "Алматы чат", "Url места публикации": "https://t.me/almaty_chat",
        "Лайков": "7", "Тональность": "негатив", "Жалоба": "Жалоба",
    }),
    # line 9: Instagram media account, ISO date with an offset, neutral
    ba_row({
        "Дата": "2026-11-15T09:00:00+03:00", "ID сообщения": "1366", "Текст": "Новость",
        "Источник": "instagram.com", "Url": "https://www.instagram.com/p/Cx1/",
        "Автор": "tengrinews", "Url автора": "https://www.instagram.com/tengrinews",
        "Тип автора": "СМИ", "Лайков": "120", "Тональность": "нейтрально",
    }),
    # line 10: unknown sentiment
    ba_row({
        "Дата": "15.11.2026 11:00", "ID сообщения": "1367", "Текст": "t", "Источник": "vk.com",
        "Url": "http://vk.com/wall1_1", "Автор": "A", "Тип автора": "Личный профиль",
        "Тональность": "Смешанная",
    }),
    # line 11: a date that does not exist
    ba_row({
        "Дата": "31.02.2026 11:00", "ID сообщения": "1368", "Текст": "t", "Источник": "vk.com",
        "Url": "http://vk.com/wall1_2", "Автор": "A", "Тип автора": "Личный профиль",
        "Тональность": "позитив",
    }),
    # line 12: one cell too many (the CSV parser rejects it)
    ba_row({
        "Дата": "15.11.2026 11:00", "ID сообщения": "1369", "Текст": "t", "Источник": "vk.com",
        "Автор": "A", "Тональность": "позитив",
    }, extra=";surplus"),
    # line 13: OK group, a source that is no social network is kept for the quarantine
    ba_row({
        "Дата": "16.11.2026 08:05:00", "ID сообщения": "1370", "Текст": "Одноклассники",
        "Источник": "Одноклассники", "Url": "https://ok.ru/group/70000001/topic/9",
        "Автор": "Группа района", "Url автора": "https://ok.ru/group/70000001",
        "Тип автора": "Группа", "Лайков": "0", "Тональность": "Нейтрал",
    }),
    # line 14: a marketplace review: not one of the contract's platforms
    ba_row({
        "Дата": "16.11.2026 08:05", "ID сообщения": "1371", "Текст": "отзыв",
        "Источник": "market.yandex.ru", "Url": "http://market.yandex.ru/card/1",
        "Автор": "КИИК", "Тип автора": "Сообщество", "Тональность": "нейтрально",
    }),
]


def test_brand_analytics_csv_lands_mapped_and_bad_records_are_quarantined(
    tmp_path: Path, warehouse: Path
) -> None:
    inbox = write_files(tmp_path / "inbox", {"mentions/ba_week.csv": ba_csv(BA_CSV_ROWS)})
    assert exports.detect(inbox / "mentions/ba_week.csv") == exports.BA_CSV

    report, quarantine, rows = _land(warehouse, inbox)

    by_id = {r["mention_id"]: r for r in rows}
    assert sorted(by_id) == ["1364", "1365", "1366", "1370"]
    assert [r["_line"] for r in rows] == [6, 7, 9, 13]
    vk, tg, ig, ok = (by_id[m] for m in ("1364", "1365", "1366", "1370"))

    assert [r["platform"] for r in (vk, tg, ig, ok)] == ["vk", "telegram", "instagram", "ok"]
    assert [r["sentiment"] for r in (vk, tg, ig, ok)] == [
        "positive", "negative", "neutral", "neutral"]
    assert [r["author_type"] for r in (vk, tg, ig, ok)] == [
        "community", "person", "media", "community"]
    # naive BA dates are Asia/Almaty time (+05:00); an offset is kept
    assert vk["published_at"] == utc(2026, 11, 14, 5, 0)
    assert tg["published_at"] == utc(2026, 11, 14, 18, 30, 15)
    assert ig["published_at"] == utc(2026, 11, 15, 6, 0)
    assert ok["published_at"] == utc(2026, 11, 16, 3, 5)

    assert vk["text"] == "Акимат \"Алматы\" & дороги <ремонт> 'срочно' !"
    assert tg["text"] == 'Жалоба\nВторая строка;\nс "кавычками"'
    assert (vk["likes"], vk["comments"], vk["reposts"], vk["views"]) == (None, 4, 2786, 31000)
    assert vk["author_audience"] == 12500
    assert (tg["likes"], tg["comments"], tg["reposts"], tg["views"]) == (7, None, None, None)
    assert ok["likes"] == 0

    assert vk["author_id"] == "http://vk.com/club179002674"
    assert ig["author_id"] == "https://www.instagram.com/tengrinews"
    # source = the place of publication, as the registry writes page ids
    assert (vk["source_id"], tg["source_id"], ig["source_id"], ok["source_id"]) == (
        "179002674", "almaty_chat", None, "70000001")
    assert vk["url"] == "http://vk.com/wall-179002674_77309"
    assert vk["entity_id"] is None

    assert [(f, line, reason) for f, line, reason, _ in quarantine] == [
        ("mentions/ba_week.csv", 10, "unknown sentiment: смешанная"),
        ("mentions/ba_week.csv", 11, "unparsable timestamp in published_at: 31.02.2026 11:00"),
        ("mentions/ba_week.csv", 12, "too many values: put values that contain the delimiter "
                                     "in double quotes (Expected Number of Columns: 40 Found: 41)"),
        ("mentions/ba_week.csv", 14, "unknown platform: market.yandex.ru"),
    ]
    # the raw record keeps every column, the tag columns included
    raw = json.loads(quarantine[0][3])
    assert raw["ID сообщения"] == "1367" and "ОП" in raw and "Жалоба" in raw
    assert report.rows_loaded["mentions"] == 4
    assert report.rows_quarantined == 4


def test_brand_analytics_csv_with_bom_and_crlf_keeps_physical_lines(
    tmp_path: Path, warehouse: Path
) -> None:
    content = ba_csv([
        ba_row({"Дата": "14.11.2026 10:00", "ID сообщения": "1", "Текст": "первая\nвторая",
                "Источник": "vk.com", "Автор": "A", "Тип автора": "Личный профиль",
                "Тональность": "Позитив"}),                                     # lines 6-7
        ba_row({"Дата": "14.11.2026 10:00", "ID сообщения": "2", "Текст": "t",
                "Источник": "vk.com", "Автор": "A", "Тональность": "позитив"},
               extra=";x"),                                                      # line 8
        ba_row({"Дата": "14.11.2026 10:00", "ID сообщения": "3", "Текст": "t",
                "Источник": "youtube.com", "Автор": "A", "Тип автора": "",
                "Тональность": "негатив"}),                                      # line 9
        ba_row({"Дата": "14.11.2026 10:00", "ID сообщения": "4", "Текст": "t",
                "Источник": "vk.com", "Автор": "A", "Тип автора": "Личный профиль",
                "Тональность": ""}),                                             # line 10
    ])
    path = tmp_path / "inbox/mentions/ba_crlf.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xef\xbb\xbf" + content.replace("\n", "\r\n").encode("utf-8"))
    assert exports.detect(path) == exports.BA_CSV

    _, quarantine, rows = _land(warehouse, tmp_path / "inbox")

    assert [(r["mention_id"], r["_line"]) for r in rows] == [("1", 6), ("3", 9)]
    assert rows[0]["text"] == "первая\r\nвторая"
    assert (rows[1]["platform"], rows[1]["author_type"]) == ("youtube", "unknown")
    assert [(line, reason) for _, line, reason, _ in quarantine] == [
        (8, "too many values: put values that contain the delimiter in double quotes "
            "(Expected Number of Columns: 40 Found: 41)"),
        (10, "missing required value: sentiment"),
    ]


def _ba_json_record(**overrides: object) -> dict:
    record = {
        "id": 1364, "hash": "0a7eea8d20261114", "idExternal": "-179002674_77309",
        "timeCreate": 1794632400, "title": "", "text": "Пост",
        "hub": "vk.com", "url": "http://vk.com/wall-179002674_77309",
        "hubtype": "Соцсети", "type": "Пост",
        "authorObject": {"fullname": "Новости района", "url": "http://vk.com/club179002674",
                         "author_type": "Сообщество", "sex": "", "age": ""},
        "commentsCount": 0, "audienceCount": 368, "citeIndex": "", "repostsCount": 0,
        "likesCount": 0, "er": 0, "viewsCount": 3, "review_rating": "", "duplicateCount": 9,
        "massMediaAudience": 0, "toneMark": 1, "role": "Главная", "aggression": "",
        "country": "Казахстан", "region": "Алматы", "city": "Алматы", "language": "Русский",
        "aspects": [], "wom": "", "processed": "Да", "story": "", "tag_1": {"2": "ОП"},
        "geoObject": [],
    }
    record.update(overrides)
    return record


def test_brand_analytics_json_lands_mapped(tmp_path: Path, warehouse: Path) -> None:
    records = [
        _ba_json_record(
            title='<span class="highlight">Акимат</span> &gt; ответ',
            text="Акимат &gt; ответ&nbsp;дан &#x41;&#1041;", viewsCount="", likesCount=12,
        ),
        _ba_json_record(
            id=1365, hub="instagram.com", url="https://www.instagram.com/p/Cx2/",
            timeCreate="14.11.2026 12:00",
            authorObject={"fullname": "Алия", "url": "https://www.instagram.com/aliya",
                          "author_type": "Личный профиль", "sex": "женский", "age": "30"},
            toneMark=-1, commentsCount="", audienceCount="1 200",
        ),
        _ba_json_record(id=1366, timeCreate="вчера", toneMark=0),
        _ba_json_record(id=1367, toneMark=""),
    ]
    # as BA saves it: an array, one object a line, `/` escaped
    text = "[" + ",\n".join(json.dumps(r, ensure_ascii=False).replace("/", "\\/")
                            for r in records) + "]"
    inbox = write_files(tmp_path / "inbox", {"mentions/ba.json": text})
    assert exports.detect(inbox / "mentions/ba.json") == exports.BA_JSON

    _, quarantine, rows = _land(warehouse, inbox)

    vk, ig = rows
    assert (vk["mention_id"], vk["_line"], ig["mention_id"], ig["_line"]) == (
        "1364", 1, "1365", 2)
    assert vk["published_at"] == utc(2026, 11, 14, 5, 0)  # Unix seconds are an instant
    assert ig["published_at"] == utc(2026, 11, 14, 7, 0)
    assert (vk["platform"], vk["author_type"], vk["sentiment"]) == (
        "vk", "community", "positive")
    assert (ig["platform"], ig["author_type"], ig["sentiment"]) == (
        "instagram", "person", "negative")
    # the title is the start of the text: kept once, highlight markup and entities removed
    assert vk["text"] == "Акимат > ответ\u00a0дан AБ"
    assert (vk["likes"], vk["comments"], vk["reposts"], vk["views"]) == (12, 0, 0, None)
    assert (ig["comments"], ig["author_audience"]) == (None, 1200)
    assert vk["author_id"] == "http://vk.com/club179002674"
    assert vk["source_id"] == "179002674"
    assert [(line, reason) for _, line, reason, _ in quarantine] == [
        (3, "unparsable timestamp in published_at: вчера"),
        (4, "missing required value: sentiment"),
    ]
    assert json.loads(quarantine[0][3])["id"] == 1366


def test_youscan_api_page_lands_mapped(tmp_path: Path, warehouse: Path) -> None:
    page = {
        "total": 4, "lastSeq": 1234, "mentions": [
            {"mentionId": 111, "seq": 1231, "sourceName": "facebook.com",
             "published": "2026-11-14T10:00:00+06:00", "sentiment": "negative",
             "title": "Жалоба жителей", "text": "Дороги в районе",
             "fullText": "Дороги в районе разбиты",
             "url": "https://www.facebook.com/groups/almaty.talks/posts/1",
             "author": {"url": "https://www.facebook.com/aliya.k", "name": "Алия",
                        "subscribers": 1200},
             "channel": {"url": "https://www.facebook.com/groups/almaty.talks",
                         "name": "Алматы говорит", "subscribers": 50000},
             "likes": 3, "comments": 1, "reposts": 2, "resourceType": "social"},
            {"mentionId": 112, "seq": 1232, "sourceName": "Twitter",
             "published": "2026-11-14T05:00:00Z", "sentiment": "positive",
             "author": {"id": "987654"}, "likes": 10, "comments": 0, "reposts": 4},
            {"mentionId": 113, "seq": 1233, "sourceName": "news.kz", "resourceType": "news",
             "published": "2026-11-14T06:00:00Z", "sentiment": "mixed",
             "author": {"name": "News.kz"}, "url": "https://news.kz/a/1"},
            {"seq": 1234, "sourceName": "t.me", "published": "2026-11-14 12:00",
             "sentiment": "neutral", "text": "Канал пишет", "url": "https://t.me/almaty_news/55/",
             "channel": {"url": "https://t.me/almaty_news", "name": "Алматы новости",
                         "subscribers": 9000},
             "likes": "", "reposts": 1},
        ],
    }
    inbox = write_files(tmp_path / "inbox", {
        "mentions/youscan.json": json.dumps(page, ensure_ascii=False, indent=2)})
    assert exports.detect(inbox / "mentions/youscan.json") == exports.YOUSCAN_JSON

    _, quarantine, rows = _land(warehouse, inbox)

    fb, x, tg = rows
    assert [r["_line"] for r in rows] == [1, 2, 4]
    assert [r["platform"] for r in rows] == ["facebook", "x", "telegram"]
    assert [r["sentiment"] for r in rows] == ["negative", "positive", "neutral"]
    assert [r["author_type"] for r in rows] == ["person", "person", "community"]
    assert [r["published_at"] for r in rows] == [
        utc(2026, 11, 14, 4, 0), utc(2026, 11, 14, 5, 0), utc(2026, 11, 14, 7, 0)]
    assert fb["text"] == "Жалоба жителей\nДороги в районе разбиты"  # title + full text
    assert (fb["author_id"], fb["author_audience"], fb["source_id"]) == (
        "https://www.facebook.com/aliya.k", 1200, "almaty.talks")
    assert (fb["likes"], fb["comments"], fb["reposts"], fb["views"]) == (3, 1, 2, None)
    assert (x["mention_id"], x["author_id"]) == ("112", "987654")
    # no mention id: a hash of the URL without scheme and trailing slash
    assert tg["mention_id"] == "url:" + hashlib.md5(b"t.me/almaty_news/55").hexdigest()
    assert (tg["author_id"], tg["author_audience"], tg["source_id"]) == (
        "https://t.me/almaty_news", 9000, "almaty_news")
    assert (tg["likes"], tg["reposts"]) == (None, 1)
    assert [(line, reason) for _, line, reason, _ in quarantine] == [
        (3, "unknown platform: news.kz; unknown sentiment: mixed")]


def test_youscan_json_lines_with_bom(tmp_path: Path, warehouse: Path) -> None:
    lines = [
        {"mentionId": "a1", "sourceName": "youtube.com", "published": "2026-11-14T10:00:00",
         "sentiment": "Positive", "author": {"url": "https://www.youtube.com/@kanal"},
         "url": "https://www.youtube.com/watch?v=abc", "likes": 5},
        {"mentionId": "a2", "sourceName": "ok.ru", "published": "2026-11-14T10:00:00",
         "sentiment": "neutral", "authorType": "bot", "author": {"name": "b"}},
    ]
    path = tmp_path / "inbox/mentions/ys.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(
        json.dumps(r, ensure_ascii=False) for r in lines).encode() + b"\r\n")
    assert exports.detect(path) == exports.YOUSCAN_JSON
    _, quarantine, rows = _land(warehouse, tmp_path / "inbox")
    assert quarantine == []
    assert [(r["mention_id"], r["platform"], r["sentiment"], r["author_type"], r["_line"])
            for r in rows] == [("a1", "youtube", "positive", "person", 1),
                               ("a2", "ok", "neutral", "bot", 2)]
    assert rows[0]["published_at"] == utc(2026, 11, 14, 5, 0)


def test_canonical_files_next_to_exports_load_as_before(tmp_path: Path, warehouse: Path) -> None:
    inbox = write_files(tmp_path / "inbox", {
        "mentions/a_canonical.csv": CANONICAL_HEADER + (
            "vk,c1,2026-11-14 10:00,t,a,person,neutral,1\n"
            "vk,c2,2026-11-14 10:00,t,a,person,angry,1\n"),
        "mentions/b_canonical.json": json.dumps([{
            "platform": "vk", "mention_id": "j1", "published_at": "2026-11-14",
            "author_id": "a", "author_type": "person", "sentiment": "neutral",
            "timeCreate": 1, "hash": "looks like BA but is canonical"}]),
        "mentions/c_ba.csv": ba_csv(BA_CSV_ROWS[:1]),
    })
    for name in ("a_canonical.csv", "b_canonical.json"):
        assert exports.detect(inbox / "mentions" / name) is None

    report, quarantine, rows = _land(warehouse, inbox)

    assert [(r["_file"], r["mention_id"], r["_line"]) for r in rows] == [
        ("mentions/a_canonical.csv", "c1", 2),
        ("mentions/b_canonical.json", "j1", 1),
        ("mentions/c_ba.csv", "1364", 6),
    ]
    assert [(f, line, reason) for f, line, reason, _ in quarantine] == [
        ("mentions/a_canonical.csv", 3, "unknown sentiment: angry")]
    assert report.files_loaded == 3


def test_an_export_saved_under_the_wrong_extension_is_quarantined_with_the_reason(
    tmp_path: Path, warehouse: Path
) -> None:
    inbox = write_files(tmp_path / "inbox", {"mentions/ba.json": ba_csv(BA_CSV_ROWS[:1])})
    report, quarantine, rows = _land(warehouse, inbox)
    assert rows == []
    [(file, line, reason, _)] = quarantine
    assert (file, line) == ("mentions/ba.json", None)
    assert "Brand Analytics CSV export saved as .json: rename it to .csv" in reason
    assert report.rows_quarantined == 1


def test_a_windows_1251_brand_analytics_csv_is_quarantined_with_the_reason(
    tmp_path: Path, warehouse: Path
) -> None:
    path = tmp_path / "inbox/mentions/ba_1251.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(ba_csv(BA_CSV_ROWS[:2]).encode("cp1251"))
    assert exports.detect(path) == exports.BA_CSV
    _, quarantine, rows = _land(warehouse, tmp_path / "inbox")
    assert rows == []
    [(file, line, reason, _)] = quarantine
    assert (file, line) == ("mentions/ba_1251.csv", None)
    assert "Windows-1251, not UTF-8: re-export or re-save it as UTF-8" in reason


def test_detect_reads_the_content_not_the_name(tmp_path: Path) -> None:
    files = {
        "canonical.csv": CANONICAL_HEADER + "vk,c1,2026-11-14,t,a,person,neutral,1\n",
        "canonical.jsonl": '{"platform": "vk", "mention_id": "m"}\n',
        "no_preamble.csv": ba_header() + ba_row({"Дата": "14.11.2026 10:00"}),
        "ba.txt.csv": ba_csv(BA_CSV_ROWS[:1]),
        "ba_named.jsonl": json.dumps(_ba_json_record()) + "\n",
        "ys_single_object.json": json.dumps({"mentionId": 1, "sourceName": "vk.com"}),
        "other.json": '[{"a": 1}]',
        "empty.csv": "",
    }
    write_files(tmp_path, files)
    assert {name: exports.detect(tmp_path / name) for name in files} == {
        "canonical.csv": None,
        "canonical.jsonl": None,
        "no_preamble.csv": exports.BA_CSV,
        "ba.txt.csv": exports.BA_CSV,
        "ba_named.jsonl": exports.BA_JSON,
        "ys_single_object.json": exports.YOUSCAN_JSON,
        "other.json": None,
        "empty.csv": None,
    }
