"""What every platform connector shares: one HTTP client with retries, rate-limit waits, error
classification, request budgets and token redaction.

A platform module subclasses `PlatformClient` and overrides `classify()` to read its own error
shapes (VK, OK and TGStat send errors inside HTTP 200 bodies; Meta inside 400s; X and YouTube
use real statuses), then writes its fetch logic on top of `get_json()`.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import time
from dataclasses import dataclass
from typing import Any

import requests

log = logging.getLogger(__name__)

USER_AGENT = "govpulse/0.1 (+https://github.com/govpulse)"


# ---- outcomes of one HTTP exchange -------------------------------------------------------
OK = "ok"
RATE_LIMITED = "rate_limited"  # wait (Retry-After or backoff) and retry
TRANSIENT = "transient"  # retry with backoff
AUTH = "auth"  # the token is wrong or expired: stop the platform at once
GONE = "gone"  # the page is deleted, private or missing: record it, go on with the others
FATAL = "fatal"  # a request we built wrong, or an error we do not know: stop


@dataclass(frozen=True)
class Verdict:
    outcome: str
    message: str = ""
    wait_seconds: float | None = None  # what the platform asked for, when it said


class ConnectorError(Exception):
    """Base of connector errors; messages never contain the token."""


class AuthError(ConnectorError):
    """The platform refused the token: nothing more can be fetched from it."""


class PageUnavailable(ConnectorError):
    """One page is deleted, private or missing; the fetch goes on with the other pages."""


class BudgetExhausted(ConnectorError):
    """The platform's request budget for this fetch is spent."""


class RetriesExhausted(ConnectorError):
    """Rate limits or transient errors outlasted the retries."""


@dataclass(frozen=True)
class ClientSettings:
    base_url: str
    token: str
    max_requests: int = 10_000  # budget for one fetch
    max_retries: int = 6
    backoff_seconds: float = 1.0  # first wait; doubles each retry, with jitter
    max_wait_seconds: float = 120.0  # longest single wait, whatever the platform asks
    timeout_seconds: float = 30.0

    @classmethod
    def from_env(cls, platform: str, default_url: str,
                 max_wait_seconds: float = 120.0) -> ClientSettings:
        """GOVPULSE_<PLATFORM>_API_URL, _TOKEN, _MAX_REQUESTS, _MAX_WAIT_SECONDS;
        GOVPULSE_HTTP_BACKOFF_SECONDS."""
        prefix = f"GOVPULSE_{platform.upper()}_"
        token = os.environ.get(prefix + "TOKEN", "")
        if not token:
            raise AuthError(
                f"{platform}: no API token: set {prefix}TOKEN (and {prefix}API_URL for a "
                "non-default endpoint) in the environment or the Airflow connection"
            )
        return cls(
            base_url=os.environ.get(prefix + "API_URL", default_url).rstrip("/"),
            token=token,
            max_requests=int(os.environ.get(prefix + "MAX_REQUESTS", cls.max_requests)),
            backoff_seconds=float(
                os.environ.get("GOVPULSE_HTTP_BACKOFF_SECONDS", cls.backoff_seconds)
            ),
            max_wait_seconds=float(os.environ.get(prefix + "MAX_WAIT_SECONDS", max_wait_seconds)),
        )


class PlatformClient:
    """HTTP for one platform: `get_json()` returns a parsed body or raises a ConnectorError."""

    platform = "base"
    default_url = ""
    # longest single wait a rate limit may ask for (X and Meta windows are 15 min and more)
    max_wait_seconds = 120.0

    def __init__(self, settings: ClientSettings, session: requests.Session | None = None):
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.requests_made = 0

    @classmethod
    def from_env(cls) -> PlatformClient:
        return cls(ClientSettings.from_env(cls.platform, cls.default_url, cls.max_wait_seconds))

    # ---- hooks for platform modules ----
    def authorize(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        """Put the token where the platform expects it (default: Bearer header)."""
        headers["Authorization"] = f"Bearer {self.settings.token}"

    def classify(self, response: requests.Response, body: Any) -> Verdict:
        """Default: by HTTP status. Platforms override to read errors from bodies."""
        status = response.status_code
        if status == 429:
            return Verdict(RATE_LIMITED, "HTTP 429", retry_after(response))
        if status in (401, 403):
            return Verdict(AUTH, f"HTTP {status}")
        if status in (404, 410):
            return Verdict(GONE, f"HTTP {status}")
        if status >= 500:
            return Verdict(TRANSIENT, f"HTTP {status}", retry_after(response))
        if status >= 400:
            return Verdict(FATAL, f"HTTP {status}")
        return Verdict(OK)

    # ---- the shared behaviour ----
    def redact(self, text: str) -> str:
        token = self.settings.token
        return text.replace(token, "***") if token else text

    def get_json(self, path: str, params: dict[str, Any] | None = None, *,
                 page: str | None = None) -> Any:
        """GET base_url/path with retries; raise AuthError, PageUnavailable, … on failure."""
        url = f"{self.settings.base_url}/{path.lstrip('/')}"
        attempt = 0
        while True:
            if self.requests_made >= self.settings.max_requests:
                raise BudgetExhausted(
                    f"{self.platform}: request budget of {self.settings.max_requests} spent; "
                    f"raise GOVPULSE_{self.platform.upper()}_MAX_REQUESTS"
                )
            self.requests_made += 1
            query, headers = dict(params or {}), {}
            self.authorize(query, headers)
            try:
                response = self.session.get(url, params=query, headers=headers,
                                            timeout=self.settings.timeout_seconds)
                body = _json_or_none(response)
                verdict = self.classify(response, body)
            except (requests.ConnectionError, requests.Timeout) as exc:
                verdict = Verdict(TRANSIENT, type(exc).__name__)
                body = None
            if verdict.outcome == OK:
                return body
            message = self.redact(f"{self.platform} {path}: {verdict.message}")
            if verdict.outcome == AUTH:
                raise AuthError(
                    f"{message}: the token was refused; renew GOVPULSE_"
                    f"{self.platform.upper()}_TOKEN"
                )
            if verdict.outcome == GONE:
                raise PageUnavailable(f"{message} (page {page or '?'})")
            if verdict.outcome == FATAL:
                raise ConnectorError(message)
            attempt += 1
            if attempt > self.settings.max_retries:
                raise RetriesExhausted(f"{message}: still failing after {attempt - 1} retries")
            wait = self._wait(attempt, verdict.wait_seconds)
            log.warning("%s; retry %d in %.1fs", message, attempt, wait)
            time.sleep(wait)

    def _wait(self, attempt: int, asked: float | None) -> float:
        if asked is not None:
            return min(max(asked, 0.0), self.settings.max_wait_seconds)
        base = self.settings.backoff_seconds * 2 ** (attempt - 1)
        return min(base * (0.5 + random.random()), self.settings.max_wait_seconds)  # jitter


def retry_after(response: requests.Response) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date) or x-rate-limit-reset (epoch)."""
    value = response.headers.get("Retry-After")
    if value:
        if value.strip().isdigit():
            return float(value)
        parsed = email.utils.parsedate_to_datetime(value)
        return max(parsed.timestamp() - time.time(), 0.0)
    reset = response.headers.get("x-rate-limit-reset")
    if reset and reset.strip().isdigit():
        return max(float(reset) - time.time(), 0.0)
    return None


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
