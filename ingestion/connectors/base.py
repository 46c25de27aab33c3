"""What every platform connector shares: one HTTP client with retries, rate-limit waits, error
classification, request budgets and token redaction.

A platform module subclasses `PlatformClient` and overrides `classify()` to read its own error
shapes (VK, OK and TGStat send errors inside HTTP 200 bodies; Meta inside 400s; X and YouTube
use real statuses), then writes its fetch logic on top of `get_json()`.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

import requests

from govpulse.settings import platform_env, seconds

log = logging.getLogger(__name__)

USER_AGENT = "govpulse/0.1 (+https://github.com/govpulse)"


# ---- redaction -------------------------------------------------------------------------------
# Query parameters and headers that carry secrets on some platform (VK, Meta and OK
# `access_token`, TGStat `token`, YouTube `key`, OK `sig`/`session_key`): their values are
# replaced in any text that can leave a connector, whichever token they hold.
SECRET_PARAMS = ("access_token", "token", "key", "api_key", "apikey", "sig", "session_key",
                 "session_secret_key", "application_secret_key", "client_secret", "secret",
                 "password", "fb_exchange_token")
# `name=value` (a URL or form), `name%3Dvalue` (an encoded URL), `"name": "value"` (JSON)
_NAMES = "|".join(re.escape(p) for p in SECRET_PARAMS)
_SECRET_PARAM = re.compile(
    r"(?i)(?<![A-Za-z0-9_])((?:" + _NAMES + r""")(?:=|%3D|['"]\s*:\s*['"]))[^&#\s'",;)}\]]+"""
)
_AUTH_HEADER = re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=:-]{4,}")
MASK = "***"
MIN_SECRET_CHARS = 4  # shorter strings would mask ordinary text


def secret_forms(secret: str) -> list[str]:
    """A secret as it can appear in text: as is, URL-encoded, base64 (Basic auth)."""
    if len(secret) < MIN_SECRET_CHARS:
        return []
    forms = {secret, quote(secret, safe=""), quote_plus(secret),
             base64.b64encode(secret.encode()).decode().rstrip("=")}
    return sorted(forms, key=len, reverse=True)  # longest first: no half-masked forms


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """The text without the secrets (in any of their forms) and without the values of known
    secret query parameters and Authorization headers. Use on every message, URL or log line
    that can leave a connector (exceptions, reports, logs)."""
    for secret in secrets:
        for form in secret_forms(secret):
            text = text.replace(form, MASK)
    text = _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, text)
    return _AUTH_HEADER.sub(lambda m: m.group(1) + m.group(2) + MASK, text)


def redact_value(value: Any, secrets: Iterable[str]) -> Any:
    """A JSON value (a response) with the secrets masked in every string; only the secrets
    themselves, so the platform's data is otherwise kept as sent."""
    forms = [f for s in secrets for f in secret_forms(s)]
    if not forms:
        return value

    def scrub(item: Any) -> Any:
        if isinstance(item, dict):
            return {scrub(k): scrub(v) for k, v in item.items()}
        if isinstance(item, list):
            return [scrub(v) for v in item]
        if isinstance(item, str):
            for form in forms:
                item = item.replace(form, MASK)
        return item

    return scrub(value)


class RedactingFilter(logging.Filter):
    """Redacts the records of the HTTP libraries: urllib3 logs every request line (with its
    query string) at DEBUG and retried URLs at WARNING."""

    def __init__(self) -> None:
        super().__init__("govpulse-redact")
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:  # the URL is in the message
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info),
                                     self.secrets)
            record.exc_info = None
        return True


HTTP_LOGGERS = ("urllib3", "urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry",
                "urllib3.response", "requests", "charset_normalizer")
LOG_FILTER = RedactingFilter()


def protect_logs(secrets: Iterable[str]) -> None:
    """Register secrets with the HTTP libraries' log filter (installed once per process).
    urllib3 is also kept at INFO or above unless someone set a level on purpose."""
    LOG_FILTER.secrets.update(s for s in secrets if len(s) >= MIN_SECRET_CHARS)
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if LOG_FILTER not in logger.filters:
            logger.addFilter(LOG_FILTER)
    urllib3 = logging.getLogger("urllib3")
    if urllib3.level == logging.NOTSET:
        urllib3.setLevel(logging.INFO)


# ---- outcomes of one HTTP exchange -------------------------------------------------------
OK = "ok"
RATE_LIMITED = "rate_limited"  # wait (Retry-After or backoff) and retry
TRANSIENT = "transient"  # retry with backoff
AUTH = "auth"  # the token is wrong or expired: stop the platform at once
GONE = "gone"  # the page is deleted, private or missing: record it, go on with the others
PAGE_REFUSED = "page_refused"  # this page cannot be fetched now (a tariff limit): go on
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
    """The platform says one page is deleted, blocked, private or missing (status `gone`: it
    does not count against fetch completeness); the fetch goes on with the other pages."""


class PageNotReached(ConnectorError):
    """One page could not be fetched although it exists (e.g. outside the API tariff): status
    `not_fetched`, it counts against completeness; the fetch goes on with the other pages."""


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
    def from_env(cls, platform: str, default_url: str, max_wait_seconds: float = 120.0, *,
                 token: str | None = None, api_url: str | None = None) -> ClientSettings:
        """GOVPULSE_<PLATFORM>_API_URL, _TOKEN, _MAX_REQUESTS, _MAX_WAIT_SECONDS;
        GOVPULSE_HTTP_BACKOFF_SECONDS, GOVPULSE_HTTP_TIMEOUT_SECONDS (per request). A `token`
        / `api_url` given by the caller (an Airflow connection, see
        govpulse/orchestration/credentials.py) replaces the environment's."""
        prefix = f"GOVPULSE_{platform.upper()}_"
        token = token or platform_env(platform, "TOKEN")
        if not token:
            raise AuthError(
                f"{platform}: no API token: set {prefix}TOKEN (and {prefix}API_URL for a "
                "non-default endpoint) in the environment or the Airflow connection"
            )
        return cls(
            base_url=(api_url or platform_env(platform, "API_URL")
                      or default_url).rstrip("/"),
            token=token,
            max_requests=int(platform_env(platform, "MAX_REQUESTS")
                             or cls.max_requests),
            backoff_seconds=seconds("GOVPULSE_HTTP_BACKOFF_SECONDS",
                                             cls.backoff_seconds),
            max_wait_seconds=seconds(prefix + "MAX_WAIT_SECONDS", max_wait_seconds),
            timeout_seconds=seconds("GOVPULSE_HTTP_TIMEOUT_SECONDS",
                                             cls.timeout_seconds),
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
        protect_logs(self.secrets())

    @classmethod
    def from_env(cls, token: str | None = None, api_url: str | None = None) -> PlatformClient:
        return cls(ClientSettings.from_env(cls.platform, cls.default_url, cls.max_wait_seconds,
                                           token=token, api_url=api_url))

    def secrets(self) -> list[str]:
        """Every secret this client holds (a platform with a composite token adds its parts)."""
        return [self.settings.token] if self.settings.token else []

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
        return redact(text, self.secrets())

    def scrub(self, value: Any) -> Any:
        """A response without this client's secrets (some APIs echo them)."""
        return redact_value(value, self.secrets())

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
            query: dict[str, Any] = dict(params or {})
            headers: dict[str, str] = {}
            self.authorize(query, headers)
            try:
                response = self.session.get(url, params=query, headers=headers,
                                            timeout=self.settings.timeout_seconds)
                body = _json_or_none(response)
                verdict = self.classify(response, body)
            except requests.RequestException as exc:
                # requests puts the full URL (a query token included) in its messages: only
                # the redacted text leaves, and the exception itself is dropped here
                verdict = _transport_verdict(exc, self.redact(str(exc)))
                body = None
            if verdict.outcome == OK:
                return body
            message = self.redact(f"{self.platform} {path}: {verdict.message}")
            if verdict.outcome == AUTH:
                raise AuthError(
                    f"{message}: the token was refused; renew it in the Airflow connection "
                    f"govpulse_{self.platform} (or GOVPULSE_{self.platform.upper()}_TOKEN "
                    "without Airflow)"
                )
            if verdict.outcome == GONE:
                raise PageUnavailable(f"{message} (page {page or '?'})")
            if verdict.outcome == PAGE_REFUSED:
                raise PageNotReached(f"{message} (page {page or '?'})")
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


def _transport_verdict(exc: requests.RequestException, text: str) -> Verdict:
    """A failure below HTTP (refused, reset, timed out, cut mid-body) is worth a retry; a
    request requests could not even build is not."""
    transient = (requests.ConnectionError, requests.Timeout,
                 requests.exceptions.ChunkedEncodingError,
                 requests.exceptions.ContentDecodingError)
    outcome = TRANSIENT if isinstance(exc, transient) else FATAL
    return Verdict(outcome, f"{type(exc).__name__}: {' '.join(text.split())[:300]}")


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
