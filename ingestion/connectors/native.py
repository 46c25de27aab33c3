"""Native API responses as immutable, content-hashed files in `<inbox>/api/<platform>/`.

Each file is one response wrapped in an envelope that says when it was fetched (`captured_at`)
and with which request (never the token). Landing loads the envelope whole into
`raw.api_captures`; dbt staging maps each platform's shape into the staged tables, so a field
an API adds later is kept, not lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from govpulse.territory import DEFAULT_TIMEZONE

API_FOLDER = "api"
ALMATY = ZoneInfo(DEFAULT_TIMEZONE)  # the default territory's zone


@dataclass(frozen=True)
class Page:
    page_id: str
    platform: str
    platform_page_id: str
    entity_id: str
    page_kind: str


@dataclass(frozen=True)
class Period:
    """A reporting week [start 00:00, start + 7 days 00:00) in the territory's zone (Asia/Almaty
    by default: Friday to Friday)."""

    start: date
    zone: ZoneInfo = ALMATY

    @property
    def end(self) -> date:
        return self.start + timedelta(days=7)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(), self.zone).astimezone(UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time(), self.zone).astimezone(UTC)


@dataclass
class Capture:
    """One native response of one endpoint, for one page (or for a search)."""

    endpoint: str
    response: Any
    request: dict[str, Any] = field(default_factory=dict)
    page: Page | None = None


def _safe(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", text)[:60] or "_"


def write_capture(inbox: Path, platform: str, period: Period, capture: Capture,
                  captured_at: datetime) -> Path:
    """Write the capture once (same content, same name); return its path."""
    envelope = {
        "platform": platform,
        "endpoint": capture.endpoint,
        "page_id": capture.page.page_id if capture.page else None,
        "platform_page_id": capture.page.platform_page_id if capture.page else None,
        "period_start": period.start.isoformat(),
        "captured_at": captured_at.astimezone(UTC).isoformat(),
        "request": capture.request,
        "response": capture.response,
    }
    text = json.dumps(envelope, ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    who = capture.page.platform_page_id if capture.page else "search"
    folder = inbox / API_FOLDER / platform / period.start.isoformat()
    path = folder / f"{_safe(capture.endpoint)}-{_safe(who)}-{digest}.json"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)  # a reader never sees half a file
    return path
