"""How many records a landed file holds, counted without DuckDB's readers.

Landing checks `records = rows landed + rows quarantined` for every file before its
transaction commits (record conservation). The count here is a second opinion: it shares no
code with DuckDB's CSV state machine or JSON reader, so a reader that silently stops early
(DuckDB returned 0 rows and 0 rejects for a CSV whose line ends changed after the header) is
caught instead of trusted.

- CSV: records as RFC 4180 splits them: a record ends at a line end (LF, CRLF or a lone CR)
  outside double quotes; a quote opens a quoted field only at the start of a field; blank lines
  are not records (DuckDB skips them too), a line of spaces is (it is rejected as too short).
  The fast path is a vectorised quote-parity scan with numpy (a few hundred MB/s); it is exact
  when every quote sits where RFC 4180 puts one (field start, field end, or doubled inside a
  quoted field). A file with a quote anywhere else (`5" screen` in an unquoted field) is
  counted by Python's own csv module instead, record by record in bounded memory.
- JSON Lines: non-blank lines.
- JSON: top-level values decoded one by one with Python's json module (an array counts its
  elements); for social-listening exports a YouScan API page counts its `mentions`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

CHUNK_BYTES = 16 * 1024 * 1024  # numpy arrays of a block stay within ~10x this
_QUOTE, _LF, _CR = 34, 10, 13

LF, CRLF, CR = "LF", "CRLF", "CR"


class CountError(Exception):
    """The file's records cannot be told apart (e.g. a JSON array cut short)."""


@dataclass
class CsvCount:
    records: int
    # line-end styles the file uses between records (and in the lines before them)
    line_ends: set[str] = field(default_factory=set)

    @property
    def mixed_line_ends(self) -> bool:
        return len(self.line_ends) > 1


def line_end_styles(data: bytes) -> set[str]:
    """Line-end styles in `data`, quotes not considered (for preamble and header lines)."""
    crlf = data.count(b"\r\n")
    styles = set()
    if crlf:
        styles.add(CRLF)
    if data.count(b"\n") > crlf:
        styles.add(LF)
    if data.count(b"\r") > crlf:
        styles.add(CR)
    return styles


def skip_lines(head: bytes, lines: int) -> int:
    """Byte offset after the first `lines` lines of `head` (LF, CRLF or CR ends)."""
    pos = 0
    for _ in range(lines):
        lf, cr = head.find(b"\n", pos), head.find(b"\r", pos)
        ends = [p for p in (lf, cr) if p >= 0]
        if not ends:
            return len(head)
        end = min(ends)
        pos = end + (2 if head[end:end + 2] == b"\r\n" else 1)
    return pos


def header_end(head: bytes, start: int = 0) -> int:
    """Byte offset after the header record that starts at `start` (a quoted name may hold a
    line break)."""
    inside = False
    i = start
    while i < len(head):
        b = head[i]
        if b == _QUOTE:
            inside = not inside
        elif b in (_LF, _CR) and not inside:
            return i + (2 if head[i:i + 2] == b"\r\n" else 1)
        i += 1
    return len(head)


def count_csv(path: Path, start: int, delimiter: str) -> CsvCount:
    """Records of the CSV from byte `start` (after its header) to the end."""
    fast = _count_csv_fast(path, start, delimiter)
    if fast is not None:
        return fast
    return _count_csv_module(path, start, delimiter)


def _count_csv_fast(path: Path, start: int, delimiter: str) -> CsvCount | None:
    """Quote-parity scan; None when a quote is not where RFC 4180 puts one."""
    delim = ord(delimiter)
    boundary = np.array([delim, _LF, _CR, _QUOTE], dtype=np.uint8)
    inside = False  # in a quoted field at the start of the block
    prev = -1  # byte before the block; -1: start of the data (a field start)
    open_record = False  # bytes since the last record end
    result = CsvCount(0)
    with path.open("rb") as f:
        f.seek(start)
        carry = b""
        while True:
            block = f.read(CHUNK_BYTES)
            data = carry + block
            eof = not block
            carry = b""
            # a CR or quote at the end is judged with the byte after it, in the next block
            if not eof and data[-1:] in (b"\r", b'"'):
                data, carry = data[:-1], data[-1:]
            if not data:
                break
            a = np.frombuffer(data, dtype=np.uint8)
            n = len(a)
            q = np.flatnonzero(a == _QUOTE)
            before_inside = inside ^ ((np.arange(len(q)) & 1) == 1)
            if len(q):
                before = np.where(q > 0, a[np.maximum(q - 1, 0)], prev if prev >= 0 else _LF)
                after = np.where(q + 1 < n, a[np.minimum(q + 1, n - 1)], _LF)
                opens_ok = np.isin(before, boundary)
                closes_ok = np.isin(after, boundary) | ((q + 1 == n) & eof)
                if not (opens_ok[~before_inside].all() and closes_ok[before_inside].all()):
                    return None
            lf = np.flatnonzero(a == _LF)
            cr = np.flatnonzero(a == _CR)
            lone_cr = cr[(cr + 1 >= n) | (a[np.minimum(cr + 1, n - 1)] != _LF)]
            ends = np.union1d(lf, lone_cr) if len(lone_cr) else lf
            outside = ((np.searchsorted(q, ends) & 1) == 1) == inside
            ends = ends[outside]
            if len(ends):
                is_lf = a[ends] == _LF
                crlf = is_lf & (ends > 0) & (a[np.maximum(ends - 1, 0)] == _CR)
                content_end = ends - crlf
                starts = np.concatenate(([0], ends[:-1] + 1))
                filled = content_end > starts
                filled[0] |= open_record
                result.records += int(np.count_nonzero(filled))
                if crlf.any():
                    result.line_ends.add(CRLF)
                if (~crlf & is_lf).any():
                    result.line_ends.add(LF)
                if not is_lf.all():
                    result.line_ends.add(CR)
                open_record = int(ends[-1]) + 1 < n
            else:
                open_record = open_record or n > 0
            inside ^= bool(len(q) & 1)
            prev = int(a[-1])
            if eof:
                break
    result.records += open_record  # the last record without a line end (or cut short)
    return result


def _count_csv_module(path: Path, start: int, delimiter: str) -> CsvCount:
    """Records as Python's csv module reads them (a quote mid-field is a character)."""
    # a long text (or a record an open quote swallowed) is still one record; the module's
    # default limit (128 KiB a field) would stop the count there
    csv.field_size_limit(2**31 - 1)
    with path.open("rb") as raw:
        raw.seek(start)
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
        # spaces before an opening quote are skipped, as DuckDB's reader does: ` "a\nb"` is
        # one quoted value either way
        reader = csv.reader(text, delimiter=delimiter, quotechar='"', doublequote=True,
                            skipinitialspace=True)
        records = 0
        try:
            for row in reader:
                records += bool(row)
        except csv.Error:
            records += 1  # the file ends inside a quoted field: that cut record counts
        raw.seek(start)
        styles: set[str] = set()
        while block := raw.read(CHUNK_BYTES):
            styles |= line_end_styles(block)
    return CsvCount(records, styles)


def count_json_lines(path: Path) -> CsvCount:
    """Non-blank lines of a JSON Lines file."""
    result = CsvCount(0)
    with path.open("rb") as f:
        for line in f:
            result.records += bool(line.strip(b" \t\r\n"))
            if line.endswith(b"\r\n"):
                result.line_ends.add(CRLF)
            elif line.endswith(b"\n"):
                result.line_ends.add(LF)
    return result


def count_json(path: Path, mentions_pages: bool = False) -> int:
    """Records of a JSON file: the elements of a top-level array, else each top-level value;
    with `mentions_pages`, an object with a `mentions` array counts its elements."""
    records = 0
    for value in _json_values(path):
        pages = mentions_pages and isinstance(value, dict)
        if pages and isinstance(value.get("mentions"), list):
            records += len(value["mentions"])
        else:
            records += 1
    return records


_WHITESPACE = " \t\r\n\ufeff"
_MAX_VALUE_CHARS = 64 * 1024 * 1024


def _json_values(path: Path):
    """Top-level JSON values one by one (an array's elements), reading bounded blocks."""
    decoder = json.JSONDecoder()
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
        buf, pos, eof = "", 0, False

        def more() -> bool:
            nonlocal buf, pos, eof
            block = text.read(1 << 20)
            eof = not block
            buf, pos = buf[pos:] + block, 0
            return not eof

        def skip_space() -> None:
            nonlocal pos
            while True:
                while pos < len(buf) and buf[pos] in _WHITESPACE:
                    pos += 1
                if pos < len(buf) or not more():
                    return

        def value():
            nonlocal pos
            while True:
                try:
                    obj, pos = decoder.raw_decode(buf, pos)
                    return obj
                except json.JSONDecodeError as exc:
                    # a value longer than any record landing reads is not waited for
                    if eof or len(buf) - pos > _MAX_VALUE_CHARS or not more():
                        raise CountError(f"JSON cut short or broken ({exc.msg})") from None

        skip_space()
        in_array = pos < len(buf) and buf[pos] == "["
        if in_array:
            pos += 1
            skip_space()
            if pos < len(buf) and buf[pos] == "]":
                return
        while True:
            skip_space()
            if pos >= len(buf):
                if in_array:
                    raise CountError("JSON array cut short (no closing ])")
                return
            yield value()
            if in_array:
                skip_space()
                if pos < len(buf) and buf[pos] == ",":
                    pos += 1
                elif pos < len(buf) and buf[pos] == "]":
                    return
                else:
                    raise CountError("JSON array cut short or broken (no , or ] after a value)")


def number_csv_records(con: duckdb.DuckDBPyConnection, table: str, columns: str,
                       header_lines: int, into: str) -> None:
    """Create temp table `into` (after_good, is_reject, line, physical_line): the first
    physical line of every record of a CSV file DuckDB read into `table` (WITH ORDINALITY,
    its columns `columns`, quoted and comma-separated) or rejected into `reject_errors`.

    Physical line of a record = the lines before the first record + the lines of every record
    before it, good or rejected; a record spans 1 + the line breaks inside its quoted fields.
    reject_errors numbers records (its `line` - header_lines is the record number: a skipped
    preamble and the header count one line each), so rejects are merged back in by that
    number. With CRLF line ends a rejected csv_line starts with the previous line's leftover
    LF, which is no line of the record."""
    con.execute(
        f"""
        CREATE TEMP TABLE {into} AS
        WITH rejects AS (
            SELECT line, 1 + length(ltrim(any_value(csv_line), chr(13) || chr(10)))
                       - length(replace(ltrim(any_value(csv_line), chr(13) || chr(10)),
                                        chr(10), '')) AS span
            FROM reject_errors GROUP BY line
        ),
        merged AS (
            SELECT ordinality AS after_good, 0 AS is_reject, 0 AS line,
                   1 + list_sum(list_transform(list_value({columns}),
                       v -> coalesce(length(v) - length(replace(v, chr(10), '')), 0))) AS span
            FROM {table}
            UNION ALL
            SELECT (line - $header_lines) - row_number() OVER (ORDER BY line), 1, line, span
            FROM rejects
        )
        SELECT after_good, is_reject, line,
               $header_lines + 1 + coalesce(sum(span) OVER (ORDER BY after_good, is_reject, line
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS physical_line
        FROM merged
        """,
        {"header_lines": header_lines},
    )
