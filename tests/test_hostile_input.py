"""Hostile and broken input: every case either loads correctly (values checked) or is
quarantined with file, line and a reason a person can act on; nothing crashes and nothing is
silently dropped (records in the file = rows in raw + rows in quarantine, or the whole file is
one quarantine entry). Real landing (ingestion.landing.land_inbox) on a real DuckDB file."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govpulse.warehouse.schema import connect
from ingestion.landing import LandingReport, land_inbox
from ingestion.registry import RegistryError, load_registry
from ingestion.vendor_files import MAX_RECORD_BYTES
from tests.support import two_region_registry, write_files
from tests.test_exports import ba_csv, ba_row

HEADER = "platform,mention_id,published_at,text,author_id,author_type,sentiment,likes\n"
WHEN = "2026-11-14 10:00"  # a Saturday of the week of 2026-11-13, before the test clock


def row(mention: str, text: str = "t", likes: str = "1", when: str = WHEN) -> str:
    return f"vk,{mention},{when},{text},a,person,neutral,{likes}\n"


def obj(mention: str, **values: Any) -> str:
    record = {"platform": "vk", "mention_id": mention, "published_at": WHEN, "author_id": "a",
              "author_type": "person", "sentiment": "neutral", **values}
    return json.dumps(record, ensure_ascii=False)


class Landed:
    """One landing run: its report, the quarantine and raw rows it wrote."""

    def __init__(self, warehouse: Path, inbox: Path, run_id: str, dataset: str = "mentions",
                 settle_seconds: float | None = None) -> None:
        with connect(warehouse) as con:
            self.report: LandingReport = land_inbox(con, inbox, run_id, settle_seconds)
            self.quarantine = con.execute(
                "SELECT file, line, reason, raw_row FROM ops.quarantine WHERE run_id = ? "
                "ORDER BY file, line", [run_id]).fetchall()
            cursor = con.execute(f'SELECT * FROM raw."{dataset}" WHERE _run_id = ? '
                                 "ORDER BY _file, _line", [run_id])
            names = [d[0] for d in cursor.description]
            self.rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
            self.loaded_files = con.execute(
                "SELECT file FROM ops.loaded_files WHERE run_id = ? ORDER BY file", [run_id]
            ).fetchall()

    def reasons(self, file: str) -> list[tuple[int | None, str]]:
        return [(line, reason) for f, line, reason, _ in self.quarantine if f == file]

    def rows_of(self, file: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["_file"] == file]

    def accounts_for(self, file: str, records: int) -> None:
        """Nothing silently dropped: every record is in raw or in quarantine, or the whole
        file is one quarantine entry without a line."""
        quarantined = self.reasons(file)
        whole = [q for q in quarantined if q[0] is None]
        if whole:
            assert (len(quarantined), self.rows_of(file)) == (1, []), quarantined
        else:
            assert len(self.rows_of(file)) + len(quarantined) == records, quarantined


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    return tmp_path / "inbox"


def put(inbox: Path, relative: str, content: str | bytes) -> Path:
    path = inbox / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# --- truncated files --------------------------------------------------------------------------


@pytest.mark.parametrize("cut", ["vk,m3,2026-11-14 10:00,cut in the mid",
                                 'vk,m3,2026-11-14 10:00,"cut in the mid'])
def test_csv_cut_in_the_last_record_loads_the_rest(inbox: Path, warehouse: Path,
                                                   cut: str) -> None:
    put(inbox, "mentions/cut.csv", HEADER + row("m1") + row("m2", likes="7") + cut)
    landed = Landed(warehouse, inbox, "r1")
    assert [(r["mention_id"], r["likes"], r["_line"]) for r in landed.rows] == [
        ("m1", 1, 2), ("m2", 7, 3)]
    [(line, reason)] = landed.reasons("mentions/cut.csv")
    assert line == 4
    assert "cut short" in reason
    landed.accounts_for("mentions/cut.csv", 3)


def test_an_unclosed_quote_mid_file_keeps_what_it_swallowed(inbox: Path,
                                                            warehouse: Path) -> None:
    put(inbox, "mentions/q.csv", HEADER + row("m1") + 'vk,m2,2026-11-14 10:00,"no end\n'
        + row("m3"))
    landed = Landed(warehouse, inbox, "r1")
    assert [r["mention_id"] for r in landed.rows] == ["m1"]
    [(_, line, reason, raw)] = landed.quarantine
    assert line == 3 and "unterminated or stray quote" in reason
    assert "m3" in raw  # the record the open quote swallowed is kept, not dropped


def test_json_lines_cut_in_the_last_line(inbox: Path, warehouse: Path) -> None:
    put(inbox, "mentions/cut.jsonl", obj("j1") + "\n" + obj("j2", likes=3) + "\n"
        + obj("j3")[:40])
    landed = Landed(warehouse, inbox, "r1")
    assert [(r["mention_id"], r["_line"]) for r in landed.rows] == [("j1", 1), ("j2", 2)]
    assert landed.rows[1]["likes"] == 3
    assert landed.reasons("mentions/cut.jsonl") == [(3, "not a valid JSON object")]


def test_a_json_array_cut_in_the_middle_is_one_entry(inbox: Path, warehouse: Path) -> None:
    text = "[" + ",\n".join(obj(f"a{i}") for i in range(5)) + "]"
    put(inbox, "mentions/cut.json", text[: len(text) // 2])
    landed = Landed(warehouse, inbox, "r1")
    assert landed.rows == []
    [(line, reason)] = landed.reasons("mentions/cut.json")
    assert line is None
    assert reason.startswith("unreadable json file: the json file is cut short")
    assert "drop the complete file again" in reason
    landed.accounts_for("mentions/cut.json", 5)


@pytest.mark.parametrize(("name", "expected"), [
    ("empty.csv", "the file is empty (no header row)"),
    ("empty.json", "the file is empty (no JSON array)"),
])
def test_an_empty_file_is_reported(inbox: Path, warehouse: Path, name: str,
                                   expected: str) -> None:
    put(inbox, f"mentions/{name}", b"")
    put(inbox, "mentions/header_only.csv", HEADER)  # no records: nothing to report
    put(inbox, "mentions/none.jsonl", b"")
    landed = Landed(warehouse, inbox, "r1")
    [(file, line, reason, _)] = landed.quarantine
    assert (file, line) == (f"mentions/{name}", None)
    assert reason.startswith(expected) and "interrupted" in reason


# --- encodings, BOM, line ends ----------------------------------------------------------------


def test_invalid_utf8_in_a_few_records_quarantines_only_them(inbox: Path,
                                                             warehouse: Path) -> None:
    csv = (HEADER + row("m1", "Алматы") + row("m2")).encode() \
        + b"vk,m3,2026-11-14 10:00,bad \xff\xfe here,a,person,neutral,1\n" \
        + (row("m4", "Қазақ") + row("m5")).encode()
    jsonl = (obj("j1", text="Алматы") + "\n").encode() \
        + b'{"platform":"vk","mention_id":"j2","text":"\xc3\x28"}\n' \
        + (obj("j3") + "\n").encode()
    put(inbox, "mentions/a.csv", csv)
    put(inbox, "mentions/b.jsonl", jsonl)
    landed = Landed(warehouse, inbox, "r1")
    assert [(r["mention_id"], r["text"], r["_line"]) for r in landed.rows] == [
        ("m1", "Алматы", 2), ("m2", "t", 3), ("m4", "Қазақ", 5), ("m5", "t", 6),
        ("j1", "Алматы", 1), ("j3", None, 3)]
    for file, line in (("mentions/a.csv", 4), ("mentions/b.jsonl", 2)):
        [(got_line, reason)] = landed.reasons(file)
        assert got_line == line
        assert reason.startswith("bytes that are not UTF-8: fix the record or re-save the file "
                                 "as UTF-8")
    landed.accounts_for("mentions/a.csv", 5)
    landed.accounts_for("mentions/b.jsonl", 3)


@pytest.mark.parametrize("name", ["m.csv", "m.jsonl", "m.json"])
def test_a_canonical_file_in_cp1251_is_quarantined_whole(inbox: Path, warehouse: Path,
                                                         name: str) -> None:
    """CONTRACTS: canonical files are UTF-8. Guessing another encoding could silently garble
    names, so the file is refused with the fix."""
    records = [("m1", "Акимат области"), ("m2", "жалоба на дороги")]
    if name.endswith(".csv"):
        text = HEADER + "".join(row(m, t) for m, t in records)
    elif name.endswith(".jsonl"):
        text = "".join(obj(m, text=t) + "\n" for m, t in records)
    else:
        text = "[" + ",\n".join(obj(m, text=t) for m, t in records) + "]\n"
    put(inbox, f"mentions/{name}", text.encode("cp1251"))
    landed = Landed(warehouse, inbox, "r1")
    assert landed.rows == []
    [(line, reason)] = landed.reasons(f"mentions/{name}")
    assert line is None
    assert reason.startswith("the file is not UTF-8 (looks like cp1251/Windows-1251)")
    assert reason.endswith("re-save it as UTF-8")


def test_a_youscan_export_in_cp1251_is_quarantined_whole(inbox: Path,
                                                         warehouse: Path) -> None:
    """Exports: BA CSV in cp1251 is covered in test_exports; a JSON export is refused too."""
    mention = {"mentionId": 1, "published": "2026-11-14T10:00:00+05:00", "url": "https://vk.com/x",
               "text": "Акимат", "sentiment": "neutral", "sourceName": "vk.com"}
    put(inbox, "mentions/ys.json", json.dumps([mention], ensure_ascii=False).encode("cp1251"))
    landed = Landed(warehouse, inbox, "r1")
    [(line, reason)] = landed.reasons("mentions/ys.json")
    assert line is None
    assert "the file is not valid UTF-8: re-save it as UTF-8" in reason


def test_a_utf16_file_is_named_as_such(inbox: Path, warehouse: Path) -> None:
    put(inbox, "mentions/excel.csv", (HEADER + row("m1")).encode("utf-16"))
    [(_, line, reason, _)] = Landed(warehouse, inbox, "r1").quarantine
    assert line is None and "it is UTF-16" in reason and "re-save it as UTF-8" in reason


def test_bom_and_crlf_load_with_their_line_numbers(inbox: Path, warehouse: Path) -> None:
    bom = b"\xef\xbb\xbf"
    csv = HEADER + row("c1", '"two\nlines"') + row("c2", likes="x") + row("c3", likes="5")
    put(inbox, "mentions/a.csv", bom + csv.replace("\n", "\r\n").encode())
    jsonl = obj("j1") + "\n\n" + obj("j2", likes=2) + "\n"
    put(inbox, "mentions/b.jsonl", bom + jsonl.replace("\n", "\r\n").encode())
    put(inbox, "mentions/c.json", bom + ("[" + obj("a1") + ",\r\n" + obj("a2") + "]\r\n").encode())
    landed = Landed(warehouse, inbox, "r1")
    assert [(r["_file"], r["mention_id"], r["_line"], r["likes"]) for r in landed.rows] == [
        ("mentions/a.csv", "c1", 2, 1), ("mentions/a.csv", "c3", 5, 5),
        ("mentions/b.jsonl", "j1", 1, None), ("mentions/b.jsonl", "j2", 3, 2),
        ("mentions/c.json", "a1", 1, None), ("mentions/c.json", "a2", 2, None)]
    assert landed.rows[0]["text"] == "two\r\nlines"  # the quoted line break is data
    assert landed.rows[0]["platform"] == "vk"  # the BOM is not part of the first name
    assert landed.reasons("mentions/a.csv") == [(4, "unparsable count in likes: x")]
    landed.accounts_for("mentions/a.csv", 3)


# --- the same file again, a file still being written ------------------------------------------


def test_the_same_file_under_a_new_name_is_skipped_and_reported(inbox: Path,
                                                                 warehouse: Path) -> None:
    content = HEADER + row("m1") + row("m2")
    put(inbox, "mentions/a.csv", content)
    first = Landed(warehouse, inbox, "r1")
    put(inbox, "mentions/later/a (copy).csv", content)
    second = Landed(warehouse, inbox, "r2")
    assert len(first.rows) == 2 and second.rows == [] and second.quarantine == []
    assert (second.report.files_loaded, second.report.files_skipped) == (0, 2)
    assert [(f.file, f.same_as) for f in second.report.copies] == [
        ("mentions/later/a (copy).csv", "mentions/a.csv")]
    assert ("1 copies of files loaded before skipped "
            "(mentions/later/a (copy).csv = mentions/a.csv)") in second.report.summary()


def test_a_freshly_modified_file_waits_for_the_settle_time(inbox: Path,
                                                           warehouse: Path) -> None:
    path = put(inbox, "mentions/fresh.csv", HEADER + row("m1"))
    first = Landed(warehouse, inbox, "r1", settle_seconds=3600)
    assert first.rows == [] and first.quarantine == [] and first.loaded_files == []
    [(file, why)] = first.report.deferred
    assert file == "mentions/fresh.csv"
    assert why.startswith("modified ") and why.endswith(
        "s before landing started, within the settle time of 3600 s "
        "(GOVPULSE_INBOX_SETTLE_SECONDS): it may still be being written")
    assert ("1 files deferred to the next run, still being written or unreadable "
            "(mentions/fresh.csv)") in first.report.summary()
    an_hour_ago = time.time() - 7200
    os.utime(path, (an_hour_ago, an_hour_ago))
    second = Landed(warehouse, inbox, "r2", settle_seconds=3600)
    assert [r["mention_id"] for r in second.rows] == ["m1"] and second.report.deferred == []


WRITER = """
import sys, time
from pathlib import Path
path, stop = Path(sys.argv[1]), Path(sys.argv[2])
with path.open("a", encoding="utf-8") as f:
    n = 0
    while not stop.exists():
        n += 1
        # a record written in two pieces: the file often ends in the middle of one
        f.write(f"vk,w{n},2026-11-14 10:00,text {n} ")
        f.flush()
        f.write("," + "a,person,neutral,1\\n")
        f.flush()
        time.sleep(0.0005)
"""


def test_a_file_being_appended_to_is_rolled_back_and_landed_next_run(
    inbox: Path, warehouse: Path, tmp_path: Path
) -> None:
    # enough records already there that landing them takes a while: the writer appends a
    # record every half millisecond meanwhile
    path = put(inbox, "mentions/growing.csv", HEADER + "".join(
        row(f"w0-{n}") for n in range(30000)))
    size = path.stat().st_size
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(stop)])
    try:
        while path.stat().st_size == size:  # the writer is under way
            assert writer.poll() is None
            time.sleep(0.01)
        during = Landed(warehouse, inbox, "r1")
    finally:
        stop.touch()
        writer.wait(timeout=60)
    # never half-landed: nothing of it in raw, quarantine or the loaded files
    assert during.rows == [] and during.quarantine == [] and during.loaded_files == []
    [(file, why)] = during.report.deferred
    assert file == "mentions/growing.csv"
    assert why.startswith("the file changed while it was landed")
    assert why.endswith("it is still being written; nothing of it was kept")
    records = path.read_bytes().count(b"\n") - 1
    after = Landed(warehouse, inbox, "r2")
    assert during.report.deferred and not after.report.deferred
    assert len(after.rows) == records and after.quarantine == []
    assert {r["mention_id"] for r in after.rows} == {f"w0-{n}" for n in range(30000)} | {
        f"w{n}" for n in range(1, records - 30000 + 1)}


# --- gigantic fields --------------------------------------------------------------------------


def test_a_5_mb_text_loads_and_a_record_over_the_limit_is_quarantined(
    inbox: Path, warehouse: Path
) -> None:
    big = "ж" * (5 * 1024 * 1024 // 2)  # 5 MB of UTF-8, over DuckDB's default 2 MB line size
    huge = "x" * (MAX_RECORD_BYTES + 10)
    put(inbox, "mentions/a.csv", HEADER + row("m1", big) + row("m2", huge) + row("m3"))
    put(inbox, "mentions/b.jsonl", obj("j1", text=big) + "\n" + obj("j2", text=huge) + "\n"
        + obj("j3") + "\n")
    put(inbox, "mentions/c.json", "[" + obj("a1", text=huge) + "]")
    landed = Landed(warehouse, inbox, "r1")
    assert [(r["_file"], r["mention_id"], len(r["text"] or ""), r["_line"])
            for r in landed.rows] == [
        ("mentions/a.csv", "m1", len(big), 2), ("mentions/a.csv", "m3", 1, 4),
        ("mentions/b.jsonl", "j1", len(big), 1), ("mentions/b.jsonl", "j3", 0, 3),
        ("mentions/c.json", "a1", len(huge), 1)]  # one JSON object may be as big as its file
    for file, line in (("mentions/a.csv", 3), ("mentions/b.jsonl", 2)):
        [(got, reason)] = landed.reasons(file)
        assert got == line
        assert reason.startswith("record too long: shorten its text or split it")
        assert f"Maximum line size of {MAX_RECORD_BYTES} bytes exceeded" in reason
    landed.accounts_for("mentions/a.csv", 3)
    landed.accounts_for("mentions/b.jsonl", 3)


# --- values: future timestamps, counters ------------------------------------------------------


def test_timestamps_in_the_future_are_quarantined(inbox: Path, warehouse: Path) -> None:
    """A time more than a day after landing is a broken export clock or a day/month swap: in
    raw it would be counted in a week it does not belong to."""
    soon = (datetime.now(UTC) + timedelta(hours=12)).isoformat()
    put(inbox, "mentions/a.csv", HEADER + row("ok") + row("soon", when=soon)
        + row("future", when="2030-01-01 00:00"))
    put(inbox, "page_snapshots/s.csv", "platform,platform_page_id,captured_at,subscribers\n"
        "vk,p1,2026-11-20 00:00,10\nvk,p1,2031-02-03T00:00:00Z,11\n")
    landed = Landed(warehouse, inbox, "r1")
    assert [r["mention_id"] for r in landed.rows] == ["ok", "soon"]
    assert landed.reasons("mentions/a.csv") == [
        (4, "published_at is in the future (more than 1 day after landing): 2030-01-01 00:00; "
            "check the export's clock and its date format (day and month swapped?)")]
    [(line, reason)] = landed.reasons("page_snapshots/s.csv")
    assert line == 3 and reason.startswith("captured_at is in the future")
    with connect(warehouse) as con:
        assert con.execute("SELECT count(*) FROM raw.page_snapshots").fetchone()[0] == 1


def test_counters_negative_non_numeric_and_too_large(inbox: Path, warehouse: Path) -> None:
    put(inbox, "mentions/a.csv", HEADER + "".join(row(m, likes=v) for m, v in [
        ("max", "9223372036854775807"), ("neg", "-3"), ("word", "many"), ("sep", "1,5"),
        ("huge", "99999999999999999999"), ("zero", "0"), ("empty", "")]))
    landed = Landed(warehouse, inbox, "r1")
    assert [(r["mention_id"], r["likes"]) for r in landed.rows] == [
        ("max", 9223372036854775807), ("zero", 0), ("empty", None)]
    assert landed.reasons("mentions/a.csv") == [
        (3, "negative likes: -3"),
        (4, "unparsable count in likes: many"),
        (5, "too many values: put values that contain the delimiter in double quotes "
            "(Expected Number of Columns: 8 Found: 9)"),
        (6, "likes out of range (more than 9223372036854775807): 99999999999999999999 "
            "(check the column is the right one)"),
    ]
    landed.accounts_for("mentions/a.csv", 7)


# --- names: files, folders, registry ----------------------------------------------------------


def test_file_and_folder_names_with_quotes_semicolons_and_cyrillic(inbox: Path,
                                                                   warehouse: Path) -> None:
    """Paths reach SQL only as parameters: odd names land like any other."""
    names = ["mentions/it's; \"x\".csv", "mentions/папка 'a'; b/выгрузка \"1\".jsonl",
             "mentions/'; DROP TABLE raw.mentions; --.csv"]
    put(inbox, names[0], HEADER + row("q1") + row("q2", likes="-1"))
    put(inbox, names[1], obj("q3") + "\n")
    put(inbox, names[2], HEADER + row("q4"))
    put(inbox, "it's \"odd\"; folder/x.csv", HEADER)
    put(inbox, "mentions/notes; 'todo'.txt", "hi")
    landed = Landed(warehouse, inbox, "r1")
    assert sorted((r["_file"], r["mention_id"]) for r in landed.rows) == sorted([
        (names[0], "q1"), (names[1], "q3"), (names[2], "q4")])
    assert [(f, line) for f, line, _, _ in landed.quarantine] == [
        ("it's \"odd\"; folder", None), (names[0], 3), ("mentions/notes; 'todo'.txt", None)]
    assert all(reason.startswith("not loaded: expected <inbox>/<dataset>/<file> with dataset "
                                 "one of mentions, ")
               for f, _, reason, _ in landed.quarantine if not f.startswith(names[0]))
    again = Landed(warehouse, inbox, "r2")  # hashes found by parameter too
    assert again.rows == [] and again.report.files_skipped == 3


def test_json_keys_and_csv_headers_with_quotes_are_columns_not_sql(inbox: Path,
                                                                   warehouse: Path) -> None:
    """Keys and header names become quoted identifiers; JSON keys are parameters, so a key
    that looks like a JSON path ($.x, /x) is a key."""
    put(inbox, "mentions/a.jsonl", obj("k1", **{"it's \"odd\"; --": "1", "$.likes": "9",
                                                "/likes": "8", "likes": "2"}) + "\n"
        + obj("k2", **{"sentiment": "angry", "it's \"odd\"; --": "x"}) + "\n")
    put(inbox, "mentions/b.csv", HEADER.rstrip("\n") + ',"it\'s ""odd""; --"\n'
        + row("k3").rstrip("\n") + ",extra\n")
    landed = Landed(warehouse, inbox, "r1")
    assert [(r["mention_id"], r["likes"]) for r in landed.rows] == [("k1", 2), ("k3", 1)]
    [(_, _, reason, raw)] = landed.quarantine
    assert reason == "unknown sentiment: angry"
    assert json.loads(raw)["it's \"odd\"; --"] == "x"


def test_registry_names_with_quotes_and_semicolons_load_exactly(tmp_path: Path) -> None:
    names = ['Область "Кавычки" и \'апостроф\'', "Район; точка с запятой",
             "Город, с запятой", "'; DROP TABLE raw.mentions; --"]

    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"'

    registry = two_region_registry(tmp_path / "registry", "".join(
        f"D{i},district,{cell(name)}\n" for i, name in enumerate(names)))
    write_files(registry, {"aliases.csv": "entity_id,alias\n" + "".join(
        f"A,{cell(name)}\n" for name in names)})
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("CREATE SCHEMA raw; CREATE TABLE raw.mentions (x INTEGER)")
        load_registry(con, registry, "r1")
        loaded = con.execute("SELECT name_ru FROM registry.entities WHERE entity_id LIKE 'D%' "
                             "ORDER BY entity_id").fetchall()
        aliases = con.execute("SELECT alias FROM registry.aliases").fetchall()
        assert con.execute("SELECT count(*) FROM raw.mentions").fetchone()[0] == 0
    assert [n for (n,) in loaded] == names
    assert sorted(a for (a,) in aliases) == sorted(names)


@pytest.mark.parametrize(("name", "line", "shown"), [
    ("Район\tс табуляцией", 5, "U+0009 (tab)"),
    ("Район\x00", 5, "U+0000 (NUL byte)"),
    ("Район \x1b[31mкрасный", 5, "U+001B (escape (ESC))"),
    ("Район\nв две строки", 5, "U+000A (line break)"),
])
def test_registry_names_with_control_characters_stop_the_run(tmp_path: Path, name: str,
                                                             line: int, shown: str) -> None:
    """Control characters in a name are pasted by accident and break every text output: the
    registry is refused naming file, line and character (a line break counts from the line
    its record starts on, later records keep their own lines)."""
    cell = '"' + name.replace('"', '""') + '"'
    registry = two_region_registry(
        tmp_path / "registry", f"D1,district,Первый\n{'D2'},district,{cell}\nD3,district,\n")
    with connect(tmp_path / "w.duckdb") as con, pytest.raises(RegistryError) as error:
        load_registry(con, registry)
    message = str(error.value)
    assert f"entities.csv:{line}: control character {shown} in name_ru" in message
    assert "remove it: registry values are one line of text" in message
    # the line after it is still numbered right (its empty name is a problem too)
    after = line + 1 + name.count("\n")
    assert f"entities.csv:{after}: empty name_ru" in message


def test_a_registry_file_that_is_not_csv_utf8_is_named(tmp_path: Path) -> None:
    registry = two_region_registry(tmp_path / "registry")
    (registry / "entities.csv").write_bytes(
        "entity_id,level,name_ru\nA,region,Первая область\nB,region,Вторая\n".encode("cp1251"))
    write_files(registry, {"aliases.csv": 'entity_id,alias\nA,"не закрыта\n'})
    with connect(tmp_path / "w.duckdb") as con, pytest.raises(RegistryError) as error:
        load_registry(con, registry)
    message = str(error.value)
    assert "entities.csv: the file is not UTF-8 (looks like cp1251/Windows-1251)" in message
    assert "aliases.csv:2: record number 1 cannot be read (" in message
    assert "unquoted value" in message.split("aliases.csv:2:")[1].split("\n")[0]


# --- native exports of social-listening tools ------------------------------------------------


def ba(mention: str, **values: str) -> str:
    return ba_row({"Дата": "14.11.2026 10:00", "ID сообщения": mention, "Текст": "Акимат",
                   "Источник": "vk.com", "Url": f"http://vk.com/wall1_{mention}", "Автор": "A",
                   "Тип автора": "Личный профиль", "Тональность": "позитив", **values})


def test_brand_analytics_csv_cut_short_with_bad_bytes_and_huge_values(inbox: Path,
                                                                     warehouse: Path) -> None:
    """A BA export goes through the same reader: a bad record is quarantined on its line (the
    4-line preamble and the header counted), the rest loads; a cut-off last record with an
    open quote does not make the whole file unreadable."""
    big = "ж" * (3 * 1024 * 1024)
    text = ba_csv([ba("1", **{"Текст": big}),                           # line 6
                   ba("2", **{"Лайков": "99999999999999999999"}),       # line 7
                   ba("3", **{"Дата": "14.11.2031 10:00"}),             # line 8
                   "@BAD@",                                             # line 9
                   ba("5", **{"Лайков": "-4"}),                         # line 10
                   ba("6", **{"Текст": "обрыв"}).replace("обрыв", '"обрыв')[:-40]])  # line 11
    data = text.encode().replace(b"@BAD@", ba("4").encode().replace(b"\xd0\x90", b"\xd0"))
    put(inbox, "mentions/ba.csv", data)
    landed = Landed(warehouse, inbox, "r1")
    assert [(r["mention_id"], len(r["text"]), r["_line"]) for r in landed.rows] == [
        ("1", len(big), 6)]
    got = landed.reasons("mentions/ba.csv")
    assert [line for line, _ in got] == [7, 8, 9, 10, 11]
    assert got[0][1].startswith("likes out of range")
    assert got[1][1].startswith("published_at is in the future")
    assert got[2][1].startswith("bytes that are not UTF-8")
    assert got[3][1] == "negative likes: -4"
    assert got[4][1].startswith("unterminated or stray quote: the record is cut short")
    landed.accounts_for("mentions/ba.csv", 6)


def test_a_json_export_cut_in_the_middle_is_one_entry(inbox: Path, warehouse: Path) -> None:
    records = [{"timeCreate": 1763096400 + i, "id": str(i), "hub": "vk.com",
                "url": f"https://vk.com/wall1_{i}", "text": "Акимат", "toneMark": 1,
                "authorObject": {"url": "https://vk.com/id1", "author_type": "Личный профиль"}}
               for i in range(4)]
    text = json.dumps(records, ensure_ascii=False)
    put(inbox, "mentions/ba.json", text[: len(text) * 2 // 3])
    landed = Landed(warehouse, inbox, "r1")
    assert landed.rows == []
    [(line, reason)] = landed.reasons("mentions/ba.json")
    assert line is None and "cut short" in reason and "drop the complete file again" in reason


# --- files outside the contract ---------------------------------------------------------------


def test_unknown_folders_and_extensions_are_quarantined(inbox: Path, warehouse: Path) -> None:
    put(inbox, "tweets/a.csv", HEADER + row("m1"))
    put(inbox, "mentions/a.xlsx", b"PK\x03\x04")
    put(inbox, "stray.csv", HEADER)
    landed = Landed(warehouse, inbox, "r1")
    assert [(f, line) for f, line, _, _ in landed.quarantine] == [
        ("mentions/a.xlsx", None), ("stray.csv", None), ("tweets", None)]
    for _, _, reason, _ in landed.quarantine:
        assert reason == ("not loaded: expected <inbox>/<dataset>/<file> with dataset one of "
                          "mentions, page_snapshots, page_posts, post_interactions, "
                          "follower_audits, incidents, fakes and a .csv/.jsonl/.json file")
    assert landed.report.rows_quarantined == 3


def test_every_record_is_accounted_for_in_a_mixed_inbox(inbox: Path, warehouse: Path) -> None:
    """All the above in one inbox: the report's totals match raw and quarantine exactly."""
    put(inbox, "mentions/a.csv", HEADER + row("m1") + row("m2", likes="-1") + "vk,m3,cut")
    put(inbox, "mentions/b.jsonl", obj("j1") + "\n" + '{"platform": "vk"\n')
    put(inbox, "mentions/c.json", '[{"platform": "vk", ')
    landed = Landed(warehouse, inbox, "r1")
    assert landed.report.rows_loaded["mentions"] == len(landed.rows) == 2
    assert landed.report.rows_quarantined == len(landed.quarantine) == 4
    digest = hashlib.sha256((inbox / "mentions/a.csv").read_bytes()).hexdigest()
    with connect(warehouse) as con:
        assert con.execute("SELECT rows_loaded, rows_quarantined FROM ops.loaded_files "
                           "WHERE file_hash = ?", [digest]).fetchone() == (1, 2)


def test_odd_column_names_are_columns_like_any_other(inbox: Path, warehouse: Path) -> None:
    """Header names and keys that are empty, hold control characters or clash with the
    readers' own columns (_line, ordinality) do not break the file; JSON keys that repeat in
    another case too (the lower-case one is read). A CSV naming a contract column twice is
    ambiguous: it is one quarantine entry naming the column (tests/test_saved_files.py)."""
    put(inbox, "mentions/a.csv", HEADER.rstrip("\n") + ',_line,ordinality,LIKE,,"x\ty\x01"\n'
        + row("c1").rstrip("\n") + ",a,b,9,,z\n")
    put(inbox, "mentions/b.jsonl", obj("j1", _line="a", _raw="b", _valid_json="c", Likes="9",
                                       likes="3", **{"x\u0000y": "z"}) + "\n")
    put(inbox, "mentions/c.csv", HEADER.rstrip("\n") + ",LIKES\n" + row("c2").rstrip("\n")
        + ",9\n")
    landed = Landed(warehouse, inbox, "r1")
    assert [(r["mention_id"], r["likes"], r["_line"]) for r in landed.rows] == [
        ("c1", 1, 2), ("j1", 3, 1)]
    [(file, line, reason, _)] = landed.quarantine
    assert (file, line) == ("mentions/c.csv", None)
    assert "columns named more than once: likes" in reason
