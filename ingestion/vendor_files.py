"""Native exports of social-listening tools in `<inbox>/mentions/`, staged as canonical mentions.

Monitoring teams drop the files exactly as the tool saved them. `detect` recognises the format
from the first bytes (never from the file name); `stage` reads the file with DuckDB's own
readers and maps it, in SQL, into the temp table `_stage` that landing fills for a canonical file
(canonical mention columns as text, `_line`, `_raw`). Landing then runs the same contract check
and quarantine on it: nothing here drops a record, a value that cannot be mapped is passed on as
it is so the contract check quarantines it with a readable reason.

Formats (layouts: shared/research/platforms.md §8)
-------------------------------------------------

| format                 | recognised by                                                       |
|------------------------|---------------------------------------------------------------------|
| `brand_analytics_csv`  | within the first 12 lines, a header row (`;`, or `,`/tab as a       |
|                        | spreadsheet re-saves it) with `Дата`                                |
|                        | and at least two of `ID сообщения`, `Текст`, `Источник`,            |
|                        | `Тональность` (normally line 5, after the 4-line preamble            |
|                        | `Система Brand Analytics` / `Тема:` / `Период:` / empty line)        |
| `brand_analytics_json` | a JSON array or objects with the keys `timeCreate` and one of       |
|                        | `idExternal`, `hash`, `hubtype`, `toneMark`, `authorObject`          |
| `youscan_json`         | objects with `mentionId`, or an API page `{"total", "lastSeq",      |
|                        | "mentions": [...]}`; a JSON array, JSON Lines or a single object    |

A file whose first bytes hold a `mention_id` key, or a CSV without a BA header row, is
canonical (`detect` returns None). UTF-8 with or without a BOM, LF, CRLF or mixed line ends (see
landing's `_uniform`). BA CSV is
documented as UTF-8 (platforms.md §8.1), so no other encoding is decoded: a BA CSV whose header
only reads as Windows-1251 is recognised and quarantined as a whole with a reason saying to
re-save it as UTF-8. A CSV export saved under a `.json` name (or a JSON export under a `.csv`
name) is quarantined as a whole with a reason saying so.

`_line` is the physical line of the record's first line for BA CSV (preamble and header lines
counted, so the first record of a standard export is line 6) and the record index from 1 for
JSON (within `mentions` for a YouScan API page). `_raw` is the record as JSON text: every CSV
column including the tag columns after `Обработано` (which are not mapped), or the JSON object.

Field mapping (export field -> canonical column)
------------------------------------------------

Each line: canonical column: BA CSV column | BA JSON key | YouScan key ("a, b" = the first
non-empty of them).

    platform         Источник (else host of Url) | hub (else host of url)
                     | sourceName (else host of url)
    mention_id       ID сообщения | id | mentionId, id          (none: a hash of the URL, below)
    published_at     Дата (+ ' ' + Время when that column exists) | timeCreate (Unix seconds)
                     | published
    url              Url | url | url
    text             Заголовок + Текст | title + text | title + (fullText, text)
    author_id        Url автора, Автор | authorObject.url, authorObject.fullname
                     | author.url, author.id, author.nickname, author.name, channel.url,
                       channel.name
    author_type      Тип автора | authorObject.author_type
                     | authorType, author.type, else derived (below)
    author_audience  Аудитория | audienceCount
                     | author.subscribers (channel.subscribers when there is no author)
    source_id        page id of (Url места публикации, Url), Url места публикации, Место
                     публикации | page id of url | page id of (channel.url, url), channel.url,
                     channel.name                                    (page ids: below)
    likes            Лайков | likesCount | likes
    comments         Комментариев | commentsCount | comments
    reposts          Репостов | repostsCount | reposts, shares
    views            Просмотров | viewsCount | views (YouScan usually has none)
    sentiment        Тональность | toneMark (-1/0/1) | sentiment
    entity_id        always NULL: exports name no registry entity, mentions are tied to
                     regions by the aliases in their text

Everything else (Hash сообщения, Тип источника, Тип сообщения, Сюжет, Пол, Возраст,
Вовлеченность, Дублей, geo, WOM, Обработано, tags...) stays in `_raw` only.

Value rules
-----------

- **mention_id** without an id in the export: `'url:' || md5(url)` where the URL loses its
  scheme, a leading `www.` and trailing `/` first, so http/https copies of one link get the same
  id. No id and no URL: NULL (quarantined as a missing required value).
- **platform**: the value is lower-cased, a scheme, `www.`/`m.`/`mobile.` and any path are cut,
  then `PLATFORM_NAMES` maps it (vk.com, vk.ru, ВКонтакте -> vk; ok.ru, Одноклассники -> ok;
  facebook.com, fb.com -> facebook; instagram.com -> instagram; twitter.com, x.com, Twitter ->
  x; t.me, telegram.me, Telegram -> telegram; youtube.com, youtu.be -> youtube). Any other
  source (news sites, marketplaces...) keeps its lower-cased original value and is quarantined
  as `unknown platform: <value>`.
- **sentiment** (`SENTIMENT_PREFIXES`, `SENTIMENT_VALUES`): starts with
  позитив/положител/positive, or is 1, +1, pos, оң -> positive; starts with
  негатив/отрицател/negative, or is -1, neg, теріс -> negative; starts with нейтрал/neutral, or
  is 0, neu, бейтарап -> neutral. Anything else (e.g. YouScan `mixed`)
  is kept lower-cased and quarantined as `unknown sentiment: ...`; empty is quarantined as missing.
- **author_type**: `AUTHOR_TYPES` below, matched on the trimmed lower-cased value with runs of
  spaces collapsed. Empty or absent -> `unknown`. Anything else is kept and quarantined.
  YouScan has no author type field: if `authorType`/`author.type` is present it is mapped the
  same way, otherwise `resourceType` news/media/... -> media; an author whose url differs from
  the channel's (or with no channel) -> person; only a channel -> community; else unknown.
- **counters** (likes, comments, reposts, views, author_audience): spaces, no-break and thin
  spaces are removed (`2 786` -> 2786); empty (`""`) -> NULL. Anything else unparsable is left
  for the contract check.
- **published_at**: `dd.mm.yyyy hh:mm[:ss]` (or `dd.mm.yy ...`) -> `yyyy-mm-dd hh:mm:ss` with no
  offset, i.e. the territory's local time by the contract (Asia/Almaty by default; landing
  reads it in the run's territory zone); Unix seconds (or milliseconds, 12-13 digits) -> UTC
  `yyyy-mm-ddThh:mm:ssZ`; ISO-8601 text is passed as it is, offset kept. An impossible date is
  passed unchanged, so the quarantine reason shows what the file said.
  Caveat: BA writes `Дата` in the BA account's time zone (the public sample in platforms.md
  §8.1 is Moscow time, UTC+3, against its JSON `timeCreate`); the account must be set to the
  territory's zone for CSV times to be right. BA JSON `timeCreate` is an instant and has no
  such issue.
- **text**: title and body joined by a newline (the title is dropped when the body already
  starts with it); BA highlight markup `<span ...>`/`</span>` removed, `<br>` -> newline; HTML
  entities decoded once: `&quot; &amp; &lt; &gt; &apos; &#39;`, `&nbsp;` (U+00A0), some
  typographic names (`NAMED_ENTITIES`), and every numeric `&#NNN;` / `&#xHH;`. `&amp;lt;`
  becomes `&lt;` (one decoding pass, as a browser would show it).
- **source_id** (the place of publication, matched against registry `excluded_sources` and
  counted for the mass-sharer rule): the page id taken from the place URL (BA `Url места
  публикации`, YouScan `channel.url`), else from the mention URL, else the place URL or name as
  given. Ids from URLs follow the registry's `platform_page_id` forms: vk `club123`, `public123`,
  `id123`, `wall-123_45` -> `123` (screen names kept); ok `group/123`, `profile/123` -> `123`;
  t.me/`name`[/45] -> `name`; instagram.com/`name` -> `name`; x.com/`name`[/status/..] ->
  `name`; facebook.com/`name` or `?id=123`; youtube.com/channel/`UC...` or /@`name`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import duckdb

from govpulse.contract import DATASETS
from govpulse.warehouse.sql import ident, literal
from ingestion import records

BA_CSV = "brand_analytics_csv"
BA_JSON = "brand_analytics_json"
YOUSCAN_JSON = "youscan_json"
FORMATS = (BA_CSV, BA_JSON, YOUSCAN_JSON)

MENTION_COLUMNS = tuple(c.name for c in DATASETS["mentions"])

# How much of a file detect() looks at: the BA preamble and header, or the first JSON keys.
SNIFF_BYTES = 256 * 1024
_BA_HEADER_SEARCH_LINES = 12
_BA_HEADER_MARKERS = ("ID сообщения", "Текст", "Источник", "Тональность")

# Source name (lower-cased, scheme/www./path cut) -> canonical platform.
PLATFORM_NAMES: dict[str, str] = {
    **dict.fromkeys(("vk", "vk.com", "vk.ru", "vkontakte", "vkontakte.ru", "вконтакте", "вк"),
                    "vk"),
    **dict.fromkeys(("ok", "ok.ru", "odnoklassniki", "odnoklassniki.ru", "одноклассники", "ок"),
                    "ok"),
    **dict.fromkeys(("facebook", "facebook.com", "fb", "fb.com", "фейсбук"), "facebook"),
    **dict.fromkeys(("instagram", "instagram.com", "instagr.am", "инстаграм"), "instagram"),
    **dict.fromkeys(("x", "x.com", "twitter", "twitter.com", "твиттер", "x (twitter)"), "x"),
    **dict.fromkeys(("telegram", "t.me", "telegram.me", "telegram.org", "tg", "телеграм",
                     "телеграмм"), "telegram"),
    **dict.fromkeys(("youtube", "youtube.com", "youtu.be", "ютуб"), "youtube"),
}

# Author type label (lower-cased, spaces collapsed) -> canonical author_type.
AUTHOR_TYPES: dict[str, str] = {
    **dict.fromkeys((
        "person", "profile", "personal profile", "user", "individual", "people", "blogger",
        "личный профиль", "профиль", "пользователь", "персона", "человек", "блогер",
        "физическое лицо",
    ), "person"),
    **dict.fromkeys((
        "community", "group", "page", "public", "public page", "channel", "club", "chat",
        "forum", "сообщество", "группа", "паблик", "публичная страница", "страница", "канал",
        "чат", "форум",
    ), "community"),
    **dict.fromkeys((
        "media", "mass media", "news", "press", "publisher", "сми", "медиа", "издание",
        "новости",
    ), "media"),
    **dict.fromkeys((
        "government", "gov", "authority", "госорган", "государственный орган", "органы власти",
    ), "government"),
    **dict.fromkeys(("corporate", "company", "brand", "business", "компания", "бренд", "бизнес"),
                    "corporate"),
    **dict.fromkeys(("bot", "бот"), "bot"),
    **dict.fromkeys(("unknown", "не определен", "не определено", "неизвестно", "n/a", "-"),
                    "unknown"),
}

# YouScan resourceType values that mean the author is a media outlet.
MEDIA_RESOURCE_TYPES = ("news", "media", "online media", "online_media", "press", "tv",
                        "radio", "mass media", "сми")

# Sentiment: prefixes (lower-cased) and exact values -> canonical sentiment.
SENTIMENT_PREFIXES: dict[str, tuple[str, ...]] = {
    "positive": ("позитив", "положител", "positive"),
    "negative": ("негатив", "отрицател", "negative"),
    "neutral": ("нейтрал", "neutral"),
}
SENTIMENT_VALUES: dict[str, tuple[str, ...]] = {
    "positive": ("1", "+1", "1.0", "pos", "оң"),
    "negative": ("-1", "-1.0", "neg", "теріс"),
    "neutral": ("0", "0.0", "-0", "neu", "бейтарап"),
}

NAMED_ENTITIES: dict[str, str] = {
    "quot": '"', "amp": "&", "lt": "<", "gt": ">", "apos": "'", "nbsp": "\u00a0",
    "laquo": "«", "raquo": "»", "ndash": "–", "mdash": "—", "hellip": "…", "lsquo": "‘",
    "rsquo": "’", "ldquo": "“", "rdquo": "”", "bdquo": "„", "bull": "•", "middot": "·",
    "copy": "©", "reg": "®", "trade": "™", "deg": "°", "times": "×", "euro": "€", "shy": "\u00ad",
}

_KEY = r'(?<!\\)"{}"\s*:'


def _has_key(text: str, key: str) -> bool:
    return re.search(_KEY.format(re.escape(key)), text) is not None


def head_bytes(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(SNIFF_BYTES)


def _text(head: bytes) -> str:
    return head.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _head_text(path: Path) -> str:
    return _text(head_bytes(path))


def _looks_like_cp1251_ba_csv(head: bytes) -> bool:
    """A BA CSV header that only appears when the bytes are read as Windows-1251."""
    return (_ba_header_line(_text(head)) is None
            and _ba_header_line(head.decode("cp1251", errors="replace")) is not None)


def _ba_header_line(text: str) -> int | None:
    """1-based line number of the BA CSV header row among the first lines, or None."""
    found = ba_header(text)
    return found[0] if found else None


def ba_header(text: str) -> tuple[int, str] | None:
    """(1-based line number, delimiter) of the BA CSV header row among the first lines, or
    None. BA writes `;`; a copy re-saved by a spreadsheet may use `,` or a tab."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines[:_BA_HEADER_SEARCH_LINES], start=1):
        for delimiter in CSV_DELIMITERS:
            if delimiter not in line:
                continue
            fields = {f.strip().strip('"').strip() for f in line.split(delimiter)}
            if "Дата" in fields and sum(m in fields for m in _BA_HEADER_MARKERS) >= 2:
                return number, delimiter
    return None


def detect(path: Path) -> str | None:
    """The export format of a mentions file from its content, or None for a canonical file."""
    head = head_bytes(path)
    text = _text(head)
    start = text.lstrip()[:1]
    if start in ("[", "{"):
        if _has_key(text, "mention_id"):
            return None
        if _has_key(text, "mentionId") or (
            _has_key(text, "mentions") and (_has_key(text, "lastSeq") or _has_key(text, "total"))
        ):
            return YOUSCAN_JSON
        if _has_key(text, "timeCreate") and any(
            _has_key(text, k) for k in ("idExternal", "hash", "hubtype", "toneMark", "authorObject")
        ):
            return BA_JSON
        return None
    if _ba_header_line(text) is not None or _looks_like_cp1251_ba_csv(head):
        return BA_CSV
    return None


class ExportError(duckdb.InvalidInputException):
    """An export that cannot be read, with a message that already says what to do."""


# ---------------------------------------------------------------------------------------------
# Reading CSV (shared with landing's canonical files)

# Longest record (CSV) or line (JSON Lines) read; longer ones are quarantined, not the whole
# file. DuckDB's default (2 MB) is less than a long post; a bigger one only costs buffer memory.
MAX_RECORD_BYTES = 16 * 1024 * 1024

# Delimiters a CSV may use (Excel in ru/kk locales writes `;`), told apart by the header row.
CSV_DELIMITERS = (";", ",", "\t")


def csv_header_names(head: bytes, delimiter: str, skip_lines: int = 0) -> list[str]:
    """The header row (after `skip_lines` lines) as written; [] when that line is blank."""
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = io.StringIO(text, newline="")
    for _ in range(skip_lines):
        lines.readline()
    line = lines.readline()
    # the header is one line unless a quoted name holds a line break
    rest = [] if line.count('"') % 2 == 0 else [lines.read()]
    return next(csv.reader(io.StringIO(line + "".join(rest), newline=""), delimiter=delimiter,
                           quotechar='"', doublequote=True), [])


def csv_header(head: bytes, delimiter: str, skip_lines: int = 0) -> list[str]:
    """Column names of the header row (after `skip_lines` lines), as DuckDB would name them:
    an empty name becomes `column<i>`, a repeated one gets `_1`, `_2`..."""
    row = csv_header_names(head, delimiter, skip_lines)
    return unique_names([name or f"column{i}" for i, name in enumerate(row)])


# Columns the readers add next to the file's own: a file column of that name is renamed.
RESERVED_COLUMNS = ("ordinality", "_line", "_raw", "_json", "_valid_json", "_reason")


def unique_names(names: list[str]) -> list[str]:
    """Names made unique as SQL sees them (case-insensitive), and distinct from
    RESERVED_COLUMNS: a repeat gets `_1`, `_2`... Control characters become `_` (SQL text
    cannot hold a NUL, even in a quoted identifier)."""
    taken: set[str] = set(RESERVED_COLUMNS)
    unique = []
    for name in names:
        name = re.sub(r"[\x00-\x1f\x7f]", "_", name)
        candidate, n = name, 0
        while candidate.lower() in taken:
            n += 1
            candidate = f"{name}_{n}"
        taken.add(candidate.lower())
        unique.append(candidate)
    return unique


def read_csv_sql(quoted: bool = True) -> str:
    """read_csv with given columns and no dialect sniffing (a cut-off last record can make the
    sniffer fail the whole file). Parameters: path, columns ({name: type}), delimiter, lines
    to skip, header (bool). Rejected records go to `reject_errors`. Without `quoted`, a quote
    is a character like any other (JSON Lines read line by line)."""
    quote = "'\"'" if quoted else "''"
    return f"""
        read_csv(?, columns = ?, delim = ?, skip = ?, header = ?, quote = {quote},
                 escape = {quote},
                 auto_detect = false, store_rejects = true,
                 max_line_size = {MAX_RECORD_BYTES}, buffer_size = {2 * MAX_RECORD_BYTES})
    """


def encoding_problem(head: bytes) -> str | None:
    """Why the whole file is not UTF-8, from its first bytes, or None.

    The file is rejected as a whole when its first line or at least half of its non-empty
    lines are not UTF-8: a file saved in another encoding. A UTF-8 file with a few broken
    records is read, and only those records are quarantined (by the readers).
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ("the file is not UTF-8 (it is UTF-16, as Excel's 'Unicode text' saves): "
                "re-save it as UTF-8 (CSV UTF-8)")
    lines = [line for line in head.split(b"\n") if line.strip()]
    # the last line of a partial head may end in the middle of a character
    cut = lines[-1] if lines and len(head) == SNIFF_BYTES else None
    bad = [line for line in lines if not _is_utf8(line, final=line is not cut)]
    if not bad or (_is_utf8(lines[0]) and 2 * len(bad) < len(lines)):
        return None
    guess = " (looks like cp1251/Windows-1251)" if _looks_cyrillic(b"\n".join(bad)) else ""
    return (f"the file is not UTF-8{guess}: {len(bad)} of the first {len(lines)} lines are "
            "not valid UTF-8; re-save it as UTF-8")


def _is_utf8(data: bytes, final: bool = True) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _looks_cyrillic(data: bytes) -> bool:
    """Bytes that read as mostly Cyrillic letters in Windows-1251."""
    text = data.decode("cp1251", errors="replace")
    non_ascii = [c for c in text if ord(c) > 127]
    cyrillic = [c for c in non_ascii if "\u0400" <= c <= "\u04ff"]
    return bool(non_ascii) and len(cyrillic) >= 0.8 * len(non_ascii)


# ---------------------------------------------------------------------------------------------
# SQL: value maps as temp macros, shared by the three formats






def _lookup(key_expr: str, mapping: dict[str, str], default: str) -> str:
    """mapping[key] else default; a MAP, not `CASE key WHEN`, which evaluates key per branch."""
    pairs = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in mapping.items())
    return f"coalesce(MAP {{{pairs}}}[{key_expr}], {default})"


def _sentiment_macro() -> str:
    k = "lower(trim(s))"
    whens = []
    for value, prefixes in SENTIMENT_PREFIXES.items():
        exact = ", ".join(literal(v) for v in SENTIMENT_VALUES[value])
        starts = " OR ".join(f"starts_with({k}, {literal(p)})" for p in prefixes)
        whens.append(f"WHEN {k} IN ({exact}) OR {starts} THEN {literal(value)}")
    return f"CASE WHEN {k} = '' THEN NULL {' '.join(whens)} ELSE {k} END"


def _entity_token_expr() -> str:
    named = " ".join(
        f"WHEN {literal('&' + name + ';')} THEN {literal(char)}"
        for name, char in NAMED_ENTITIES.items()
    )
    hex_code = "try_cast('0x' || substr(tok, 4, length(tok) - 4) AS INTEGER)"
    dec_code = "try_cast(substr(tok, 3, length(tok) - 3) AS INTEGER)"
    return f"""CASE
        WHEN NOT starts_with(tok, '&') OR tok = '&' THEN tok
        WHEN starts_with(lower(tok), '&#x') THEN coalesce(_gpx_chr({hex_code}), tok)
        WHEN starts_with(tok, '&#') THEN coalesce(_gpx_chr({dec_code}), tok)
        ELSE CASE tok {named} ELSE tok END END"""


_ENTITY_TOKENS = r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,9});|[^&]+|&"
_SPACES = r"[\s\x{00A0}\x{202F}\x{2009}\x{2007}]+"


def _macros() -> list[str]:
    platform_key = (
        r"regexp_replace(regexp_replace(regexp_replace(lower(trim(p)), '^[a-z]+://', ''), "
        r"'^(www\.|m\.|mobile\.)', ''), '/.*$', '')"
    )
    author_key = r"regexp_replace(lower(trim(a)), '\s+', ' ', 'g')"
    return [
        # host and path of a URL (host without www./m./mobile.)
        r"""CREATE OR REPLACE TEMP MACRO _gpx_host(u) AS
            nullif(lower(regexp_extract(trim(u),
                '^(?:[a-zA-Z]+://)?(?:www\.|m\.|mobile\.)?([^/?#:]+)', 1)), '')""",
        r"""CREATE OR REPLACE TEMP MACRO _gpx_path(u) AS
            regexp_extract(trim(u), '^(?:[a-zA-Z]+://)?[^/?#]+/*([^?#]*)', 1)""",
        r"""CREATE OR REPLACE TEMP MACRO _gpx_first(path) AS
            nullif(regexp_extract(path, '^([^/]+)', 1), '')""",
        # page id of a profile/page/post URL in the registry's platform_page_id forms
        r"""CREATE OR REPLACE TEMP MACRO _gpx_page_id(u, host, path) AS CASE
            WHEN host IN ('vk.com', 'vk.ru', 'vkontakte.ru') THEN coalesce(
                nullif(regexp_extract(path, '^wall-?([0-9]+)_', 1), ''),
                nullif(regexp_extract(path, '^(?:club|public|event|id)([0-9]+)/?$', 1),
                       ''),
                nullif(regexp_extract(path, '^([A-Za-z0-9_.]+)/?$', 1), ''))
            WHEN host IN ('ok.ru', 'odnoklassniki.ru') THEN
                nullif(regexp_extract(path, '^(?:group|profile)/([0-9]+)', 1), '')
            WHEN host IN ('t.me', 'telegram.me') THEN
                nullif(regexp_extract(path, '^(?:s/)?([A-Za-z0-9_]+)', 1), '')
            WHEN host IN ('instagram.com', 'instagr.am') THEN
                CASE WHEN _gpx_first(path) IN ('p', 'reel', 'reels', 'tv', 'explore') THEN NULL
                     WHEN _gpx_first(path) = 'stories' THEN
                         nullif(regexp_extract(path, '^stories/([A-Za-z0-9_.]+)', 1), '')
                     ELSE nullif(regexp_extract(path, '^([A-Za-z0-9_.]+)', 1), '') END
            WHEN host IN ('facebook.com', 'fb.com') THEN coalesce(
                nullif(regexp_extract(u, '[?&]id=([0-9]+)', 1), ''),
                nullif(regexp_extract(path, '^groups/([A-Za-z0-9_.-]+)', 1), ''),
                CASE WHEN _gpx_first(path) NOT IN ('permalink.php', 'story.php', 'profile.php',
                                                'photo.php', 'watch', 'share', 'groups')
                     THEN nullif(regexp_extract(path, '^([A-Za-z0-9_.-]+)', 1), '') END)
            WHEN host IN ('x.com', 'twitter.com') THEN
                CASE WHEN _gpx_first(path) NOT IN ('i', 'search', 'hashtag', 'home', 'intent')
                     THEN nullif(regexp_extract(path, '^([A-Za-z0-9_]+)', 1), '') END
            WHEN host IN ('youtube.com', 'youtu.be') THEN coalesce(
                nullif(regexp_extract(path, '^channel/([A-Za-z0-9_-]+)', 1), ''),
                nullif(regexp_extract(path, '^@([A-Za-z0-9_.-]+)', 1), ''))
            END""",
        f"""CREATE OR REPLACE TEMP MACRO _gpx_platform(p) AS
            CASE WHEN nullif(trim(p), '') IS NULL THEN NULL
                 ELSE {_lookup(platform_key, PLATFORM_NAMES, 'lower(trim(p))')} END""",
        f"""CREATE OR REPLACE TEMP MACRO _gpx_author_type(a) AS
            CASE WHEN nullif(trim(a), '') IS NULL THEN 'unknown'
                 ELSE {_lookup(author_key, AUTHOR_TYPES, author_key)} END""",
        f"CREATE OR REPLACE TEMP MACRO _gpx_sentiment(s) AS {_sentiment_macro()}",
        f"""CREATE OR REPLACE TEMP MACRO _gpx_count(v) AS
            nullif(regexp_replace(trim(v), '{_SPACES}', '', 'g'), '')""",
        r"""CREATE OR REPLACE TEMP MACRO _gpx_ts(v) AS CASE
            WHEN nullif(trim(v), '') IS NULL THEN NULL
            WHEN regexp_full_match(trim(v), '[0-9]{9,11}(\.0*)?') THEN
                strftime(make_timestamp(try_cast(try_cast(trim(v) AS DOUBLE) AS BIGINT)
                                        * 1000000), '%Y-%m-%dT%H:%M:%S') || 'Z'
            WHEN regexp_full_match(trim(v), '[0-9]{12,13}') THEN
                strftime(make_timestamp(try_cast(trim(v) AS BIGINT) * 1000),
                         '%Y-%m-%dT%H:%M:%S') || 'Z'
            WHEN regexp_matches(trim(v), '^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}') THEN coalesce(
                strftime(try_strptime(regexp_replace(trim(v), '\s+', ' ', 'g'),
                    ['%d.%m.%Y %H:%M:%S', '%d.%m.%Y %H:%M', '%d.%m.%Y']), '%Y-%m-%d %H:%M:%S'),
                trim(v))
            WHEN regexp_matches(trim(v), '^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{2}(\s|$)') THEN coalesce(
                strftime(try_strptime(regexp_replace(trim(v), '\s+', ' ', 'g'),
                    ['%d.%m.%y %H:%M:%S', '%d.%m.%y %H:%M', '%d.%m.%y']), '%Y-%m-%d %H:%M:%S'),
                trim(v))
            ELSE trim(v) END""",
        r"""CREATE OR REPLACE TEMP MACRO _gpx_chr(c) AS
            CASE WHEN c BETWEEN 1 AND 1114111 AND c NOT BETWEEN 55296 AND 57343
                 THEN chr(CASE WHEN c BETWEEN 1 AND 1114111 AND c NOT BETWEEN 55296 AND 57343
                               THEN c ELSE 32 END) END""",
        f"""CREATE OR REPLACE TEMP MACRO _gpx_entities(t) AS
            CASE WHEN t IS NULL OR NOT contains(t, '&') THEN t
                 ELSE array_to_string(list_transform(
                     regexp_extract_all(t, '{_ENTITY_TOKENS}'),
                     tok -> {_entity_token_expr()}), '') END""",
        r"""CREATE OR REPLACE TEMP MACRO _gpx_markup(t) AS
            CASE WHEN contains(t, '<') THEN
                regexp_replace(regexp_replace(t, '<br\s*/?>', chr(10), 'gi'),
                               '</?span(\s[^>]*)?>', '', 'gi')
            ELSE t END""",
        # title and body with their markup removed
        r"""CREATE OR REPLACE TEMP MACRO _gpx_text(title, body) AS _gpx_entities(CASE
            WHEN nullif(trim(title), '') IS NULL THEN nullif(body, '')
            WHEN nullif(trim(body), '') IS NULL THEN title
            WHEN starts_with(trim(body), trim(title)) THEN body
            ELSE title || chr(10) || body END)""",
        r"""CREATE OR REPLACE TEMP MACRO _gpx_url_key(u) AS
            rtrim(regexp_replace(regexp_replace(trim(u), '^[a-zA-Z]+://', ''), '^www\.', ''),
                  '/')""",
    ]


def _canonical_select(source: str, json: bool) -> str:
    """Map the per-format source columns (s_*) to the canonical text columns."""
    return f"""
        SELECT
            _gpx_platform(coalesce(nullif(trim(s_platform), ''), url_host)) AS platform,
            coalesce(nullif(trim(s_mention_id), ''),
                     'url:' || md5(nullif(_gpx_url_key(s_url), ''))) AS mention_id,
            _gpx_ts(s_published_at) AS published_at,
            nullif(trim(s_url), '') AS url,
            _gpx_text(title, body) AS text,
            coalesce(nullif(trim(s_author_ref), ''), nullif(trim(s_author_name), ''))
                AS author_id,
            _gpx_author_type(s_author_type) AS author_type,
            _gpx_count(s_author_audience) AS author_audience,
            coalesce(_gpx_page_id(s_place_url, place_host, place_path),
                     _gpx_page_id(s_url, url_host, url_path),
                     nullif(trim(s_place_url), ''), nullif(trim(s_place_name), '')) AS source_id,
            _gpx_count(s_likes) AS likes,
            _gpx_count(s_comments) AS comments,
            _gpx_count(s_reposts) AS reposts,
            _gpx_count(s_views) AS views,
            _gpx_sentiment(s_sentiment) AS sentiment,
            NULL::VARCHAR AS entity_id,
            _line, _raw{', _valid_json' if json else ''}
        FROM (
            SELECT src.*, _gpx_host(s_url) AS url_host, _gpx_path(s_url) AS url_path,
                   _gpx_host(s_place_url) AS place_host, _gpx_path(s_place_url) AS place_path,
                   _gpx_markup(s_title) AS title, _gpx_markup(s_body) AS body
            FROM ({source}) src
        ) src
    """


# ---------------------------------------------------------------------------------------------
# Staging

_TEMP_TABLES = ("_gpx_read", "_gpx_records", "_gpx_objects")


def stage(con: duckdb.DuckDBPyConnection, path: Path, fmt: str,
          read_path: Path | None = None) -> list[str]:
    """Create temp table `_stage` (canonical text columns, `_line`, `_raw`) from an export.

    Returns the canonical columns the file provides (plus `_valid_json` for JSON formats, which
    landing's contract check reads). Raises duckdb.Error when the file cannot be read at all.
    `read_path` is the file to read when it is not `path` (a copy with its line ends made
    uniform, see landing).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {FORMATS}")
    for statement in _macros():
        con.execute(statement)
    try:
        if fmt == BA_CSV:
            return _stage_ba_csv(con, path, read_path or path)
        return _stage_json(con, path, fmt)
    finally:
        for table in _TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")


def ba_csv_layout(path: Path) -> tuple[int, str, list[str]]:
    """(header line, delimiter, column names) of a BA CSV export; ExportError saying what to do
    when it has none."""
    if path.suffix.lower() != ".csv":
        raise ExportError(
            f"a Brand Analytics CSV export saved as {path.suffix}: rename it to .csv")
    head = head_bytes(path)
    found = ba_header(_text(head))
    if found is None:
        if _looks_like_cp1251_ba_csv(head):
            raise ExportError(
                "a Brand Analytics CSV export in Windows-1251, not UTF-8: re-export or re-save "
                "it as UTF-8")
        raise ExportError("no Brand Analytics header row in the first lines")
    header_line, delimiter = found
    return header_line, delimiter, csv_header(head, delimiter, skip_lines=header_line - 1)


def _stage_ba_csv(con: duckdb.DuckDBPyConnection, path: Path, read_path: Path) -> list[str]:
    header_line, delimiter, header = ba_csv_layout(path)
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    con.execute(
        f"CREATE TEMP TABLE _gpx_read AS SELECT * FROM {read_csv_sql()} WITH ORDINALITY",
        [str(read_path), dict.fromkeys(header, "VARCHAR"), delimiter, header_line - 1, True],
    )
    columns = [r[0] for r in con.execute("DESCRIBE _gpx_read").fetchall()
               if r[0] != "ordinality"]
    # the preamble before the header counts as one line in reject_errors, as the header does
    records.number_csv_records(con, "_gpx_read", "*COLUMNS(* EXCLUDE (ordinality))",
                               header_line, into="_gpx_records")
    # landing quarantines the parser's rejects of a .csv file from these two tables
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _reject_lines AS "
        "SELECT line, physical_line FROM _gpx_records WHERE is_reject = 1"
    )
    by_name: dict[str, str] = {}
    for c in columns:
        by_name.setdefault(c.strip().lower(), c)

    def col(*names: str) -> str:
        for name in names:
            if name.lower() in by_name:
                return f"r.{ident(by_name[name.lower()])}"
        return "NULL::VARCHAR"

    def has(*names: str) -> bool:
        return any(n.lower() in by_name for n in names)

    date = col("Дата")
    if has("Время") and has("Дата"):
        date = f"concat_ws(' ', nullif(trim({date}), ''), nullif(trim({col('Время')}), ''))"
    source = f"""
        SELECT {col('Источник')} AS s_platform, {col('ID сообщения')} AS s_mention_id,
               {date} AS s_published_at, {col('Url')} AS s_url,
               {col('Заголовок')} AS s_title, {col('Текст')} AS s_body,
               {col('Url автора')} AS s_author_ref, {col('Автор')} AS s_author_name,
               {col('Тип автора')} AS s_author_type, {col('Аудитория')} AS s_author_audience,
               {col('Url места публикации')} AS s_place_url,
               {col('Место публикации')} AS s_place_name,
               {col('Лайков')} AS s_likes, {col('Комментариев')} AS s_comments,
               {col('Репостов')} AS s_reposts, {col('Просмотров')} AS s_views,
               {col('Тональность')} AS s_sentiment,
               c.physical_line AS _line,
               to_json(struct_pack(*COLUMNS(r.* EXCLUDE (ordinality))))::VARCHAR AS _raw
        FROM _gpx_read r JOIN _gpx_records c ON c.is_reject = 0 AND c.after_good = r.ordinality
    """
    con.execute(f"CREATE TEMP TABLE _stage AS {_canonical_select(source, json=False)}")
    provided = {
        "platform": has("Источник", "Url"),
        "mention_id": has("ID сообщения", "Url"),
        "published_at": has("Дата"),
        "url": has("Url"),
        "text": has("Заголовок", "Текст"),
        "author_id": has("Url автора", "Автор"),
        "author_type": True,  # absent = unknown
        "author_audience": has("Аудитория"),
        "source_id": has("Url места публикации", "Место публикации", "Url"),
        "likes": has("Лайков"),
        "comments": has("Комментариев"),
        "reposts": has("Репостов"),
        "views": has("Просмотров"),
        "sentiment": has("Тональность"),
        "entity_id": False,
    }
    return [c for c in MENTION_COLUMNS if provided[c]]


def _json_source(fmt: str) -> str:
    def g(path: str) -> str:
        return f"(_json ->> {literal(path)})"

    if fmt == BA_JSON:
        fields = {
            "s_platform": g("$.hub"), "s_mention_id": g("$.id"),
            "s_published_at": g("$.timeCreate"), "s_url": g("$.url"),
            "s_title": g("$.title"), "s_body": g("$.text"),
            "s_author_ref": g("$.authorObject.url"), "s_author_name": g("$.authorObject.fullname"),
            "s_author_type": g("$.authorObject.author_type"),
            "s_author_audience": g("$.audienceCount"),
            "s_place_url": "NULL::VARCHAR", "s_place_name": "NULL::VARCHAR",
            "s_likes": g("$.likesCount"), "s_comments": g("$.commentsCount"),
            "s_reposts": g("$.repostsCount"), "s_views": g("$.viewsCount"),
            "s_sentiment": g("$.toneMark"),
        }
    else:
        author = (f"coalesce({g('$.author.url')}, {g('$.author.id')}, {g('$.author.nickname')}, "
                  f"{g('$.author.name')})")
        has_author = f"nullif(trim({author}), '') IS NOT NULL"
        has_channel = (f"coalesce(nullif(trim({g('$.channel.url')}), ''), "
                       f"nullif(trim({g('$.channel.name')}), '')) IS NOT NULL")
        media = ", ".join(literal(v) for v in MEDIA_RESOURCE_TYPES)
        derived_type = f"""CASE
            WHEN nullif(trim(coalesce({g('$.authorType')}, {g('$.author.type')})), '') IS NOT NULL
                THEN coalesce({g('$.authorType')}, {g('$.author.type')})
            WHEN lower(trim({g('$.resourceType')})) IN ({media}) THEN 'media'
            WHEN {has_author} AND (NOT {has_channel} OR coalesce({g('$.author.url')},
                    {g('$.author.name')}) IS DISTINCT FROM coalesce({g('$.channel.url')},
                    {g('$.channel.name')})) THEN 'person'
            WHEN {has_channel} THEN 'community'
            END"""
        fields = {
            "s_platform": g("$.sourceName"),
            "s_mention_id": f"coalesce({g('$.mentionId')}, {g('$.id')})",
            "s_published_at": g("$.published"), "s_url": g("$.url"),
            "s_title": g("$.title"), "s_body": f"coalesce({g('$.fullText')}, {g('$.text')})",
            "s_author_ref": f"coalesce({author}, {g('$.channel.url')})",
            "s_author_name": g("$.channel.name"),
            "s_author_type": derived_type,
            "s_author_audience": f"CASE WHEN {has_author} THEN {g('$.author.subscribers')} "
                                 f"ELSE {g('$.channel.subscribers')} END",
            "s_place_url": g("$.channel.url"), "s_place_name": g("$.channel.name"),
            "s_likes": g("$.likes"), "s_comments": g("$.comments"),
            "s_reposts": f"coalesce({g('$.reposts')}, {g('$.shares')})", "s_views": g("$.views"),
            "s_sentiment": g("$.sentiment"),
        }
    selects = ", ".join(f"{expr} AS {name}" for name, expr in fields.items())
    return f"SELECT {selects}, _line, _raw, _json IS NOT NULL AS _valid_json FROM _gpx_records"


def _stage_json(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> list[str]:
    if path.suffix.lower() not in (".json", ".jsonl"):
        raise ExportError(
            f"a JSON export ({fmt}) saved as {path.suffix}: rename it to .json")
    # An array is read as its elements (auto-detection is confused by a BOM before '['); objects
    # one after another (JSON Lines, a single object, pretty-printed) by format 'auto'.
    layout = "array" if _head_text(path).lstrip().startswith("[") else "auto"
    max_size = max(MAX_RECORD_BYTES, path.stat().st_size + 1)
    con.execute(
        """
        CREATE TEMP TABLE _gpx_objects AS
        SELECT ordinality AS o, json AS j
        FROM read_json_objects(?, format = ?, maximum_object_size = ?)
        WITH ORDINALITY
        """,
        [str(path), layout, max_size],
    )
    # A YouScan API page {"total", "lastSeq", "mentions": [...]} stands for its mentions.
    con.execute(
        """
        CREATE TEMP TABLE _gpx_records AS
        WITH expanded AS (
            SELECT o, 0 AS k, j AS rec FROM _gpx_objects
            WHERE json_type(j, '$.mentions') IS DISTINCT FROM 'ARRAY'
            UNION ALL
            SELECT o, u.k, u.rec
            FROM _gpx_objects,
                 unnest(json_extract(j, '$.mentions[*]')) WITH ORDINALITY AS u(rec, k)
            WHERE json_type(j, '$.mentions') = 'ARRAY'
        )
        SELECT row_number() OVER (ORDER BY o, k) AS _line, rec::VARCHAR AS _raw,
               CASE WHEN json_type(rec) = 'OBJECT' THEN rec END AS _json
        FROM expanded
        """
    )
    con.execute(f"CREATE TEMP TABLE _stage AS {_canonical_select(_json_source(fmt), json=True)}")
    return [c for c in MENTION_COLUMNS if c != "entity_id"] + ["_valid_json"]
