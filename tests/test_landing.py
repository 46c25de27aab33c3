"""Landing of the canonical inbox into raw tables with real DuckDB: typing, timestamps,
quarantine with file/line/reason, skipping files already loaded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from govpulse.warehouse.schema import connect
from ingestion.landing import land_inbox
from tests.support import write_files

HEADER = "platform,mention_id,published_at,text,author_id,author_type,sentiment,likes\n"


def _land(warehouse: Path, inbox: Path, run_id: str = "r1"):
    with connect(warehouse) as con:
        report = land_inbox(con, inbox, run_id)
        quarantine = con.execute(
            "SELECT file, line, reason FROM ops.quarantine WHERE run_id = ? ORDER BY file, line",
            [run_id],
        ).fetchall()
        rows = con.execute(
            "SELECT mention_id, published_at, likes, _file, _line FROM raw.mentions "
            "ORDER BY _load_id, _line"
        ).fetchall()
    return report, quarantine, rows


def test_naive_timestamps_are_almaty_time_and_offsets_are_instants(
    tmp_path: Path, warehouse: Path
) -> None:
    inbox = write_files(tmp_path / "inbox", {"mentions/a.csv": HEADER + (
        "vk,naive,2024-03-01 00:30,t,a,person,neutral,1\n"          # after the switch: +05
        "vk,naive_before,2024-02-29 12:00,t,a,person,neutral,1\n"   # before the switch: +06
        "vk,offset,2024-03-01T00:30:00+06:00,t,a,person,neutral,1\n"
        "vk,utc,2024-02-29T19:00:00Z,t,a,person,neutral,1\n"
    )})
    _, quarantine, rows = _land(warehouse, inbox)
    assert quarantine == []
    instants = {mention: ts.astimezone(UTC) for mention, ts, *_ in rows}
    assert instants == {
        "naive": datetime(2024, 2, 29, 19, 30, tzinfo=UTC),
        "naive_before": datetime(2024, 2, 29, 6, 0, tzinfo=UTC),
        "offset": datetime(2024, 2, 29, 18, 30, tzinfo=UTC),
        "utc": datetime(2024, 2, 29, 19, 0, tzinfo=UTC),
    }


def test_bad_rows_are_quarantined_with_line_and_reason_good_rows_land(
    tmp_path: Path, warehouse: Path
) -> None:
    inbox = write_files(tmp_path / "inbox", {"mentions/a.csv": HEADER + (
        'vk,ok1,2026-11-14 10:00,"two\nlines",a,person,positive,3\n'   # lines 2-3
        "vk,bad_date,yesterday,t,a,person,neutral,1\n"                # line 4
        "vk,too_many,2026-11-14 10:00,t,a,person,neutral,1,extra\n"   # line 5
        "tg,bad_enum,2026-11-14 10:00,t,,person,angry,-2\n"           # line 6
        "vk,ok2,2026-11-14 10:00,t,a,person,neutral,1.0\n"            # line 7
        "vk,bad_count,2026-11-14 10:00,t,a,person,neutral,1.5\n"      # line 8
    )})
    report, quarantine, rows = _land(warehouse, inbox)
    assert [(m, likes, line) for m, _, likes, _, line in rows] == [("ok1", 3, 2), ("ok2", 1, 7)]
    assert [(line, reason) for _, line, reason in quarantine] == [
        (4, "unparsable timestamp in published_at: yesterday"),
        (5, "too many values: put values that contain the delimiter in double quotes "
            "(Expected Number of Columns: 8 Found: 9)"),
        (6, "unknown platform: tg; missing required value: author_id; "
            "negative likes: -2; unknown sentiment: angry"),
        (8, "unparsable count in likes: 1.5"),
    ]
    assert report.rows_quarantined == 4
    assert report.rows_loaded["mentions"] == 2


def test_json_lines_and_arrays_keep_line_numbers(tmp_path: Path, warehouse: Path) -> None:
    inbox = write_files(tmp_path / "inbox", {
        "mentions/a.jsonl": (
            '{"platform":"vk","mention_id":"j1","published_at":"2026-11-14","author_id":"a",'
            '"author_type":"person","sentiment":"neutral","likes":2}\n'
            '{"platform":"vk","mention_id":"broken",\n'
            "\n"
            '{"platform":"vk","mention_id":"j2","published_at":"2026-11-14","author_id":"a",'
            '"author_type":"person","sentiment":"neutral"}\n'
        ),
        "mentions/b.json": (
            '[{"platform":"vk","mention_id":"a1","published_at":"2026-11-14","author_id":"a",'
            '"author_type":"person","sentiment":"neutral"}, {"platform":"vk"}]'
        ),
        "mentions/c.json": '[{"platform":"vk", "mention_id": "cut in the mi',
    })
    _, quarantine, rows = _land(warehouse, inbox)
    assert [(m, f, line) for m, _, _, f, line in rows] == [
        ("j1", "mentions/a.jsonl", 1), ("j2", "mentions/a.jsonl", 4), ("a1", "mentions/b.json", 1)]
    assert quarantine[0] == ("mentions/a.jsonl", 2, "not a valid JSON object")
    assert quarantine[1][:2] == ("mentions/b.json", 2)
    assert quarantine[1][2].startswith("missing required value: mention_id")
    assert quarantine[2][0:2] == ("mentions/c.json", None)
    assert quarantine[2][2].startswith("unreadable json file")


def test_a_file_already_loaded_is_skipped_even_under_another_name(
    tmp_path: Path, warehouse: Path
) -> None:
    content = HEADER + "vk,m1,2026-11-14 10:00,t,a,person,neutral,1\n"
    inbox = write_files(tmp_path / "inbox", {"mentions/a.csv": content})
    first, _, _ = _land(warehouse, inbox, "r1")
    write_files(inbox, {"mentions/a_copy.csv": content})
    second, _, rows = _land(warehouse, inbox, "r2")
    assert (first.files_loaded, second.files_loaded, second.files_skipped) == (1, 0, 2)
    assert len(rows) == 1


def test_missing_required_column_quarantines_the_file_as_one_entry(
    tmp_path: Path, warehouse: Path
) -> None:
    inbox = write_files(tmp_path / "inbox", {"mentions/a.csv": (
        "platform,mention_id,published_at,author_id,author_type\n"
        "vk,m1,2026-11-14,a,person\n"
        "vk,m2,2026-11-14,a,person\n"
    )})
    report, quarantine, rows = _land(warehouse, inbox)
    assert rows == []
    [(file, line, reason)] = quarantine
    assert (file, line) == ("mentions/a.csv", None)
    assert reason.startswith("mentions/a.csv: the header does not match the mentions contract")
    assert "required columns missing: sentiment." in reason
    assert "The file's columns: platform, mention_id, published_at, author_id, author_type" \
        in reason
    [result] = report.files
    assert (result.records, result.rows_loaded, result.rows_quarantined,
            result.conservation) == (2, 0, 1, "file quarantined")


def test_files_outside_the_contract_are_reported_not_ignored(
    tmp_path: Path, warehouse: Path
) -> None:
    inbox = write_files(tmp_path / "inbox", {
        "mentions/notes.txt": "hello",
        "tweets/a.csv": "x\n1\n",
    })
    report, quarantine, _ = _land(warehouse, inbox)
    assert [(f, line) for f, line, _ in quarantine] == [
        ("mentions/notes.txt", None), ("tweets", None)]
    assert all(reason.startswith("not loaded: expected <inbox>/<dataset>/<file>")
               for *_, reason in quarantine)
    assert report.rows_quarantined == 2


def test_crlf_file_with_a_rejected_row_keeps_physical_lines(
    tmp_path: Path, warehouse: Path
) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "mentions").mkdir(parents=True)
    (inbox / "mentions" / "a.csv").write_bytes((
        HEADER + "vk,ok1,2026-11-14 10:00,t,a,person,neutral,1\n"
        "vk,too_many,2026-11-14 10:00,t,a,person,neutral,1,extra\n"
        "vk,ok2,2026-11-14 10:00,t,a,person,neutral,1\n"
    ).replace("\n", "\r\n").encode())
    _, quarantine, rows = _land(warehouse, inbox)
    assert [(m, line) for m, _, _, _, line in rows] == [("ok1", 2), ("ok2", 4)]
    assert [line for _, line, _ in quarantine] == [3]


def test_the_summary_shows_records_landed_and_quarantined_of_files_that_lost_rows(
    tmp_path: Path, warehouse: Path
) -> None:
    inbox = write_files(tmp_path / "inbox", {
        "mentions/clean.csv": HEADER + "vk,c1,2026-11-14 10:00,t,a,person,neutral,1\n",
        "mentions/partial.csv": HEADER + "vk,p1,2026-11-14 10:00,t,a,person,neutral,1\n"
                                         "vk,p2,yesterday,t,a,person,neutral,1\n",
        "mentions/header.csv": "platform,id\nvk,1\n",
    })
    report, _, _ = _land(warehouse, inbox)
    summary = report.summary()
    assert ("files with quarantined records: mentions/header.csv (1 records, quarantined "
            "whole); mentions/partial.csv (2 records: 1 landed, 1 quarantined)") in summary
    assert "clean.csv" not in summary
    assert [(f["file"], f["records"], f["rows_loaded"], f["rows_quarantined"])
            for f in report.file_records()] == [
        ("mentions/header.csv", 1, 0, 1), ("mentions/partial.csv", 2, 1, 1)]
