"""Issue 14, items 1, 2 and 7: files as monitoring teams' tools save them, on a real DuckDB
warehouse through `land_inbox`.

- The same records written every way tools write CSV (LF, CRLF or mixed line ends, a BOM or
  none, a line end after the last record or none or blank lines after it, comma, semicolon or
  tab), canonical mentions and Brand Analytics exports alike, land as the same rows.
- Hostile variants (a cut record, a wrong number of values, binary junk, stray quotes) end as
  quarantined rows with reasons: every record counted in the file is a landed row or a
  quarantined one (ops.loaded_files.records = rows_loaded + rows_quarantined).
- Headers that break the contract (missing, renamed or repeated columns, an empty header, junk
  names) are one quarantine entry naming the file and the columns; landing never raises.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from govpulse.contract import DATASETS
from govpulse.warehouse.schema import connect
from ingestion.landing import land_inbox
from tests.test_exports import BA_COLUMNS

EOL = {"lf": "\n", "crlf": "\r\n"}
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}
LINE_ENDS = ("lf", "crlf", "mixed")
ENDINGS = ("eol", "none", "blank")

# Records as a tool holds them: a line break, every delimiter and quotes inside a text,
# Kazakh and Russian letters, empty optional values.
MENTIONS = [
    {"platform": "vk", "mention_id": "m1", "published_at": "2026-11-14 10:00",
     "text": "Акимат ответил", "author_id": "a1", "author_type": "person",
     "sentiment": "positive", "likes": "3", "entity_id": "A"},
    {"platform": "telegram", "mention_id": "m2", "published_at": "2026-11-14 11:30",
     "text": 'Вторая строка, ниже;\nс "кавычками"\tи табом', "author_id": "a2",
     "author_type": "person", "sentiment": "negative", "likes": "", "entity_id": "B"},
    {"platform": "instagram", "mention_id": "m3", "published_at": "2026-11-15T09:00:00+05:00",
     "text": "Қазақ тілі: жол жөндеу", "author_id": "a3", "author_type": "media",
     "sentiment": "neutral", "likes": "120", "entity_id": ""},
    {"platform": "x", "mention_id": "m4", "published_at": "2026-11-16 08:15",
     "text": "", "author_id": "a4", "author_type": "unknown", "sentiment": "neutral",
     "likes": "0", "entity_id": "A"},
]
CANONICAL_COLUMNS = ["platform", "mention_id", "published_at", "text", "author_id",
                     "author_type", "sentiment", "likes", "entity_id"]

BA_PREAMBLE = ["Система Brand Analytics", "Тема: Акиматы", "Период: 13.11.26 - 19.11.26", ""]
BA_RECORDS = [
    {"Дата": "14.11.2026 10:00", "ID сообщения": "b1", "Текст": "Акимат ответил",
     "Источник": "vk.com", "Url": "http://vk.com/wall-1_1", "Автор": "Новости",
     "Url автора": "http://vk.com/club1", "Тип автора": "Сообщество", "Лайков": "2 786",
     "Тональность": "Позитив"},
    {"Дата": "14.11.2026 23:30:15", "ID сообщения": "b2", "Заголовок": "Жалоба",
     "Текст": 'Вторая строка, ниже;\nс "кавычками"\tи табом', "Источник": "Telegram",
     "Url": "https://t.me/chat/5", "Автор": "Алия", "Url автора": "https://t.me/aliya",
     "Тип автора": "Личный профиль", "Тональность": "негатив"},
    {"Дата": "15.11.2026 09:00", "ID сообщения": "b3", "Текст": "Қазақ тілі",
     "Источник": "instagram.com", "Url": "https://www.instagram.com/p/Cx1/",
     "Автор": "tengrinews", "Тип автора": "СМИ", "Тональность": "нейтрально"},
]


def cell(value: str, delimiter: str) -> str:
    """A value as a spreadsheet writes it: quoted when it holds a delimiter, quote, line
    break or an edge space."""
    special = any(c in value for c in (delimiter, '"', "\n", "\r")) or value != value.strip()
    return '"' + value.replace('"', '""') + '"' if special else value


def csv_text(lines: list[list[str]], delimiter: str, line_ends: str, ending: str,
             preamble: list[str] = ()) -> str:
    """Rows joined as a tool saves them; `mixed` alternates CRLF and LF from line to line,
    the preamble ending in LF and the header in CRLF."""
    rows = list(preamble) + [delimiter.join(cell(v, delimiter) for v in line) for line in lines]
    if line_ends == "mixed":
        ends = ["\n" if i < len(preamble) else ("\r\n", "\n")[(i - len(preamble)) % 2]
                for i in range(len(rows))]
    else:
        ends = [EOL[line_ends]] * len(rows)
    text = "".join(r + e for r, e in zip(rows, ends, strict=True))
    if ending == "none":
        text = text[: -len(ends[-1])]
    elif ending == "blank":
        text += ends[-1] * 2
    return text


def canonical_file(records: list[dict[str, str]], delimiter: str, line_ends: str,
                   ending: str) -> str:
    lines = [CANONICAL_COLUMNS] + [[r[c] for c in CANONICAL_COLUMNS] for r in records]
    return csv_text(lines, delimiter, line_ends, ending)


def ba_file(records: list[dict[str, str]], delimiter: str, line_ends: str, ending: str) -> str:
    lines = [BA_COLUMNS] + [[r.get(c, "") for c in BA_COLUMNS] for r in records]
    return csv_text(lines, delimiter, line_ends, ending, preamble=BA_PREAMBLE)


def write(inbox: Path, name: str, text: str | bytes, bom: bool = False) -> str:
    path = inbox / "mentions" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return f"mentions/{name}"


def land(warehouse: Path, inbox: Path) -> dict[str, Any]:
    """Land the inbox; per file: its ops.loaded_files row, raw rows and quarantine entries."""
    with connect(warehouse) as con:
        land_inbox(con, inbox, "r1")
        files = {f: {"records": rec, "loaded": lo, "quarantined": q, "conservation": c,
                     "rows": [], "quarantine": []}
                 for f, rec, lo, q, c in con.execute(
                     "SELECT file, records, rows_loaded, rows_quarantined, conservation "
                     "FROM ops.loaded_files").fetchall()}
        for file, *row in con.execute(
                "SELECT _file, mention_id, platform, published_at, text, author_id, "
                "author_type, sentiment, likes, entity_id FROM raw.mentions "
                "ORDER BY _file, _line").fetchall():
            row[2] = row[2].astimezone(UTC)
            files[file]["rows"].append(tuple(row))
        for file, line, reason in con.execute(
                "SELECT file, line, reason FROM ops.quarantine ORDER BY file, line").fetchall():
            files[file]["quarantine"].append((line, reason))
    return files


def variants() -> list[tuple[str, str, str, bool]]:
    return list(itertools.product(DELIMITERS, LINE_ENDS, ENDINGS, (False, True)))


def expected_canonical() -> list[tuple]:
    def ts(text: str) -> datetime:
        naive = datetime.fromisoformat(text)
        if naive.tzinfo is None:  # Asia/Almaty, +05 since 2024-03-01
            naive = naive.replace(tzinfo=datetime.fromisoformat("2026-01-01T00:00+05:00").tzinfo)
        return naive.astimezone(UTC)

    return [(r["mention_id"], r["platform"], ts(r["published_at"]), r["text"] or None,
             r["author_id"], r["author_type"], r["sentiment"],
             int(r["likes"]) if r["likes"] else None, r["entity_id"] or None)
            for r in MENTIONS]


def test_canonical_mentions_saved_every_way_land_the_same_rows(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    names = {}
    for delimiter, line_ends, ending, bom in variants():
        name = f"{delimiter}-{line_ends}-{ending}-{'bom' if bom else 'nobom'}.csv"
        text = canonical_file(MENTIONS, DELIMITERS[delimiter], line_ends, ending)
        names[write(inbox, name, text, bom)] = name
    for delimiter, line_ends in itertools.product(DELIMITERS, EOL):  # one line: not mixed
        header_only = canonical_file([], DELIMITERS[delimiter], line_ends, "eol")
        names[write(inbox, f"header-only-{delimiter}-{line_ends}.csv", header_only)] = ""
    files = land(tmp_path / "w.duckdb", inbox)
    expected = expected_canonical()
    assert set(files) == set(names)
    for file, name in names.items():
        got = files[file]
        records = len(MENTIONS) if name else 0
        assert (got["quarantine"], got["records"], got["loaded"], got["quarantined"],
                got["conservation"]) == ([], records, records, 0, "balanced"), file
        assert got["rows"] == (expected if name else []), file


def expected_ba() -> list[tuple]:
    def ts(text: str) -> datetime:
        local = datetime.strptime(text, "%d.%m.%Y %H:%M:%S" if text.count(":") == 2
                                  else "%d.%m.%Y %H:%M")
        return local.replace(tzinfo=datetime.fromisoformat("2026-01-01T00:00+05:00").tzinfo
                              ).astimezone(UTC)

    return [
        ("b1", "vk", ts("14.11.2026 10:00"), "Акимат ответил", "http://vk.com/club1",
         "community", "positive", None, None),
        ("b2", "telegram", ts("14.11.2026 23:30:15"),
         'Жалоба\nВторая строка, ниже;\nс "кавычками"\tи табом', "https://t.me/aliya",
         "person", "negative", None, None),
        ("b3", "instagram", ts("15.11.2026 09:00"), "Қазақ тілі", "tengrinews", "media",
         "neutral", None, None),
    ]


def test_brand_analytics_csv_saved_every_way_lands_the_same_rows(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    names = []
    for delimiter, line_ends, ending, bom in variants():
        name = f"ba-{delimiter}-{line_ends}-{ending}-{'bom' if bom else 'nobom'}.csv"
        names.append(write(inbox, name, ba_file(BA_RECORDS, DELIMITERS[delimiter], line_ends,
                                                ending), bom))
    header_only = write(inbox, "ba-header-only.csv", ba_file([], ";", "crlf", "eol"))
    files = land(tmp_path / "w.duckdb", inbox)
    for file in names:
        got = files[file]
        assert (got["quarantine"], got["records"], got["loaded"], got["conservation"]) == (
            [], len(BA_RECORDS), len(BA_RECORDS), "balanced"), file
        assert [r[:7] for r in got["rows"]] == [e[:7] for e in expected_ba()], file
    assert (files[header_only]["records"], files[header_only]["rows"]) == (0, [])


# --- hostile variants: quarantined with reasons, never missing ---------------------------------


def accounted(got: dict[str, Any], file: str, ambiguous: bool = False) -> None:
    """Every record of the file is a landed row or a quarantined one with a line and reason
    (or the whole file is one entry); a non-empty file is never 0 landed and 0 quarantined.
    With `ambiguous`, quoting that two parsers split differently may also end as a mismatch:
    the whole file quarantined, saying how many records it holds."""
    outcomes = ("balanced", "file quarantined") + (("mismatch",) if ambiguous else ())
    assert got["conservation"] in outcomes, (file, got)
    assert got["loaded"] + got["quarantined"] > 0, file
    if got["conservation"] == "mismatch":
        [(line, reason)] = got["quarantine"]
        assert line is None and f"{file} holds {got['records']} records but the reader " \
            "produced" in reason
    elif got["conservation"] == "balanced":
        assert got["records"] == got["loaded"] + got["quarantined"], (file, got)
        assert all(line and reason for line, reason in got["quarantine"]), file
    else:
        [(line, reason)] = got["quarantine"]
        assert line is None and reason, file
    assert len(got["rows"]) == got["loaded"], file


def file_lines(kind: str, delimiter: str) -> tuple[str, list[str]]:
    """(preamble, [header, record, ...]) of a file; a record may hold a quoted line break."""
    def line(values: list[str]) -> str:
        return delimiter.join(cell(v, delimiter) for v in values)

    if kind == "canonical":
        return "", [line(CANONICAL_COLUMNS)] + [line([r[c] for c in CANONICAL_COLUMNS])
                                               for r in MENTIONS]
    return "\n".join(BA_PREAMBLE) + "\n", [line(BA_COLUMNS)] + [
        line([r.get(c, "") for c in BA_COLUMNS]) for r in BA_RECORDS]


def hostile_variants(preamble: str, lines: list[str], eol: str) -> dict[str, bytes]:
    """Hostile changes to a file's records, as bytes."""
    head, data = lines[0], lines[1:]
    start = preamble.replace("\n", eol).encode()

    def join(rows: list[str | bytes]) -> bytes:
        return start + b"".join((r.encode() if isinstance(r, str) else r) + eol.encode()
                                for r in [head, *rows])

    last = data[-1]
    quoted = data[1]  # holds a quoted text with a line break
    return {
        "cut-unquoted": join(data[:-1]) + last[: len(last) // 3].encode(),
        "cut-in-quotes": join(data[:-1]) + quoted[: quoted.index('"') + 8].encode(),
        "extra-value": join([data[0] + ",extra;more\tstill", *data[1:]]),
        "missing-values": join([data[0][: len(data[0]) // 2], *data[1:]]),
        "binary-junk": join([data[0], b"\x00\xff\xfe junk \x01\x02\xd0", *data[1:]]),
        "stray-quote": join([data[0].replace("Акимат", 'Ак"имат', 1), *data[1:]]),
        "open-quote-mid-file": join([data[0], '"never closed', *data[1:]]),
        "spaces-line": join([data[0], "   ", *data[1:]]),
    }


@pytest.mark.parametrize("kind", ["canonical", "brand_analytics"])
def test_hostile_variants_are_quarantined_never_missing(tmp_path: Path, kind: str) -> None:
    inbox = tmp_path / "inbox"
    written = {}
    # Brand Analytics: its own `;` and a spreadsheet's `,` (a tab splits the same way)
    delimiters = DELIMITERS if kind == "canonical" else ("semicolon", "comma")
    for delimiter, line_ends in itertools.product(delimiters, ("lf", "crlf")):
        preamble, lines = file_lines(kind, DELIMITERS[delimiter])
        for name, data in hostile_variants(preamble, lines, EOL[line_ends]).items():
            written[write(inbox, f"{kind}-{name}-{delimiter}-{line_ends}.csv", data)] = name
    files = land(tmp_path / "w.duckdb", inbox)
    assert set(files) == set(written)
    for file, name in written.items():
        got = files[file]
        accounted(got, file)
        if name != "stray-quote":  # a quote inside an unquoted value is a character
            assert got["quarantined"] >= 1, (file, got)


def test_random_junk_between_records_is_accounted_for(tmp_path: Path) -> None:
    """Seeded fuzz: junk lines of quotes, delimiters, line ends, NUL and bytes that are not
    UTF-8 between good records. Nothing goes missing: the count and the reader agree, or (for
    the rare quoting two parsers split differently) the file is quarantined whole."""
    pieces = [b'"', b'""', b",", b";", b"\t", b"\n", b"\r\n", b"\r", b"a", b" ", b"\x00",
              b"\xff", "ж".encode(), b"1"]
    rng = random.Random(14)
    inbox = tmp_path / "inbox"
    lines = canonical_file(MENTIONS[:1], ",", "lf", "none").split("\n")
    for n in range(60):
        junk = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        data = (lines[0] + "\n" + lines[1] + "\n").encode() + junk + b"\n" + \
            lines[1].replace("m1", "m9").encode() + (b"\n" if n % 2 else b"")
        write(inbox, f"junk-{n:02d}.csv", data)
    files = land(tmp_path / "w.duckdb", inbox)
    assert len(files) == 60
    for file, got in files.items():
        accounted(got, file, ambiguous=True)


# --- headers that break the contract -----------------------------------------------------------


def header_cases(rng: random.Random, count: int) -> list[list[str]]:
    columns = [c.name for c in DATASETS["mentions"]]
    cases: list[list[str]] = [[], [""], ["", "", ""], [" "], ["ünïcødé", "列", "a,b"]]
    for _ in range(count):
        names = rng.sample(columns, rng.randint(1, len(columns)))
        change = rng.choice(["subset", "duplicate", "rename", "case", "junk"])
        if change == "duplicate":
            names.insert(rng.randrange(len(names) + 1), rng.choice(names).upper())
        elif change == "rename":
            i = rng.randrange(len(names))
            names[i] = rng.choice([names[i] + "_x", "tone", "Author ID", names[i][:3]])
        elif change == "case":
            names = [f" {n.title()} " for n in names]
        elif change == "junk":
            names.append(rng.choice(["", "_line", "ordinality", '"quoted"', "x\x01y", "Дата"]))
        cases.append(names)
    return cases


def test_headers_that_break_the_contract_are_one_entry_never_a_crash(tmp_path: Path) -> None:
    rng = random.Random(8)
    inbox = tmp_path / "inbox"
    columns = DATASETS["mentions"]
    values = {"platform": "vk", "mention_id": "h", "published_at": "2026-11-14 10:00",
              "author_id": "a", "author_type": "person", "sentiment": "neutral", "likes": "1"}
    expected: dict[str, tuple[list[str], list[str]]] = {}
    names_of: dict[str, list[str]] = {}
    for n, names in enumerate(header_cases(rng, 80)):
        delimiter = rng.choice(list(DELIMITERS.values()))
        low = [x.strip().lower() for x in names]
        row = [values.get(x, "v") for x in low] or ["vk", "x"]
        text = delimiter.join(cell(x, delimiter) for x in names) + "\n" + \
            (delimiter.join(row) + "\n") * 2
        file = write(inbox, f"h{n:03d}.csv", text)
        missing = [c.name for c in columns if c.required and c.name not in low]
        twice = sorted({x for x in low if low.count(x) > 1 and x in {c.name for c in columns}})
        expected[file] = (missing, twice)
        names_of[file] = names
    files = land(tmp_path / "w.duckdb", inbox)  # never raises
    for file, (missing, twice) in expected.items():
        got = files[file]
        if missing or twice:
            assert (got["loaded"], got["quarantined"], got["conservation"]) == (
                0, 1, "file quarantined"), (file, got)
            [(line, reason)] = got["quarantine"]
            assert line is None and reason.startswith(f"{file}: the header"), reason
            if not any(n.strip() for n in names_of[file]):
                assert "the header row is empty" in reason
            elif missing:
                assert f"required columns missing: {', '.join(missing)}" in reason
            if twice:
                assert f"columns named more than once: {', '.join(twice)}" in reason
        else:
            accounted(got, file)
            assert got["records"] == 2


# --- the cases of issue 14 ---------------------------------------------------------------------


def test_case_1_a_windows_saved_brand_analytics_csv_lands_every_record(tmp_path: Path) -> None:
    """Saved on Windows: the table in CRLF, line breaks inside quoted texts, the preamble BA
    wrote in LF; DuckDB alone read it as 0 rows and 0 rejects."""
    inbox = tmp_path / "inbox"
    text = ba_file(BA_RECORDS, ";", "crlf", "eol")
    preamble = "\r\n".join(BA_PREAMBLE) + "\r\n"
    file = write(inbox, "ba_windows.csv", "\n".join(BA_PREAMBLE) + "\n" + text[len(preamble):])
    got = land(tmp_path / "w.duckdb", inbox)[file]
    assert (got["records"], got["loaded"], got["quarantined"], got["conservation"]) == (
        3, 3, 0, "balanced")
    assert [r[0] for r in got["rows"]] == ["b1", "b2", "b3"]


def test_case_2_an_excel_semicolon_file_lands_its_12_records(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    records = [{**MENTIONS[i % 4], "mention_id": f"x{i}"} for i in range(12)]
    file = write(inbox, "excel_ru.csv", canonical_file(records, ";", "crlf", "eol"), bom=True)
    got = land(tmp_path / "w.duckdb", inbox)[file]
    assert (got["records"], got["loaded"], got["quarantined"]) == (12, 12, 0)
    assert [r[0] for r in got["rows"]] == [f"x{i}" for i in range(12)]


def test_case_8_a_wrong_header_is_one_entry_naming_the_file_and_columns(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    file = write(inbox, "wrong.csv", "platform,id,date,author,type,tone\n"
                 "vk,1,2026-11-14 10:00,a,person,neutral\n")
    good = write(inbox, "good.csv", canonical_file(MENTIONS, ",", "lf", "eol"))
    files = land(tmp_path / "w.duckdb", inbox)
    [(line, reason)] = files[file]["quarantine"]
    assert line is None
    assert reason.startswith("mentions/wrong.csv: the header does not match the mentions "
                             "contract")
    assert ("required columns missing: mention_id, published_at, author_id, author_type, "
            "sentiment") in reason
    assert "The file's columns: platform, id, date, author, type, tone" in reason
    assert files[file]["records"] == 1
    assert files[good]["loaded"] == len(MENTIONS)


def test_records_the_reader_does_not_account_for_fail_the_raw_validation(
    tmp_path: Path
) -> None:
    """Quoting two parsers split differently (a quoted value followed by another quoted part
    holding a line break: DuckDB joins the parts, RFC 4180 parsers end the record) is a
    mismatch: the file is quarantined whole saying what was found, the run's raw validation
    fails naming it, and the next run tries the file again instead of skipping it."""
    from govpulse.quality.validation import CONSERVATION_SUITE, validate_raw

    inbox = tmp_path / "inbox"
    file = write(inbox, "joined.csv", "".join([
        canonical_file(MENTIONS[:1], ",", "lf", "eol"),
        'vk,m5,2026-11-14 10:00,"one\ntwo" "three\nfour",a5,person,neutral,1,A\n',
        "vk,m6,2026-11-14 10:00,t,a6,person,neutral,1,A\n"]))
    warehouse = tmp_path / "w.duckdb"
    got = land(warehouse, inbox)[file]
    assert (got["records"], got["loaded"], got["quarantined"], got["conservation"]) == (
        4, 0, 1, "mismatch")
    [(line, reason)] = got["quarantine"]
    assert line is None
    assert reason.startswith(f"{file} holds 4 records but the reader produced 3 rows and 0 "
                             "rejects: nothing of it is kept")
    report = validate_raw(warehouse, "r1", datetime(2026, 11, 13).date(), rows_only=True)
    [failure] = report.failures()
    assert failure.suite == CONSERVATION_SUITE
    assert "1 of 1 files landed by this run hold records the reader did not account for" \
        in failure.observed_value
    assert f"{file} holds 4 records" in failure.observed_value
    # the run's message carries the whole of it, down to what to do
    assert "drop it, or remove it from the inbox, then run again" in report.summary()
    with connect(warehouse) as con:
        again = land_inbox(con, inbox, "r2")
    assert [(f.file, f.skipped, f.conservation) for f in again.files] == [
        (file, False, "mismatch")]
    assert "1 files NOT ACCOUNTED FOR (the raw validation fails)" in again.summary()
    # a land task retried within its run: the file's earlier whole-file entry of that run must
    # not make up the missing record (3 rows + 1 old entry = 4 would read as balanced)
    with connect(warehouse) as con:
        retried = land_inbox(con, inbox, "r1")
    assert [(f.file, f.skipped, f.conservation) for f in retried.files] == [
        (file, False, "mismatch")]


def test_json_lines_with_hostile_lines_account_for_every_line(tmp_path: Path) -> None:
    """A line that starts with a quote (a bare JSON string, cut short) is one bad line, not
    the start of a quoted value swallowing the lines after it; blank lines are no records."""
    good = ('{"platform":"vk","mention_id":"%s","published_at":"2026-11-14","author_id":"a",'
            '"author_type":"person","sentiment":"neutral"}')
    inbox = tmp_path / "inbox"
    file = write(inbox, "hostile.jsonl", b"\r\n".join([
        (good % "j1").encode(), b'"a bare string, cut', b"", b"\x00\xff junk",
        (good % "j2").encode(), b'"', b"   ", (good % "j3").encode()[:-1] + b"\n"]))
    got = land(tmp_path / "w.duckdb", inbox)[file]
    assert (got["records"], got["loaded"], got["quarantined"], got["conservation"]) == (
        6, 2, 4, "balanced")
    assert [r[0] for r in got["rows"]] == ["j1", "j2"]
    assert [line for line, _ in got["quarantine"]] == [2, 4, 6, 8]
