"""Deliver operational alerts to a chat webhook, besides recording them in ops.

With `GOVPULSE_ALERT_WEBHOOK_URL` set, every alert the pipeline records (a missed deadline, a
publication that completed only in part, a failed run) is POSTed there as JSON
`{"text": …, "kind": …, "period_start": …, "run_id": …}`; `text` is what Slack- and
Mattermost-style incoming webhooks show. Without it nothing is sent. Delivery never stops a run:
a webhook that fails is logged (never with its URL, which carries the webhook's own secret) and
the alert stays in ops.alerts / ops.runs.
"""

from __future__ import annotations

import logging

import requests

from govpulse import settings

log = logging.getLogger(__name__)

WEBHOOK_ENV = settings.WEBHOOK_ENV
TIMEOUT_SECONDS = 10


def send(kind: str, message: str, period_start: str | None = None,
         run_id: str | None = None) -> bool:
    """POST the alert to the webhook; True when it was accepted, False when none is set or it
    failed."""
    url = settings.webhook_url()
    if not url:
        return False
    payload = {"text": f"govpulse {kind}: {message}", "kind": kind,
               "period_start": period_start, "run_id": run_id}
    try:
        response = requests.post(url, json=payload, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as exc:
        # the exception's text holds the URL: only its kind and the status are logged
        status = getattr(getattr(exc, "response", None), "status_code", None)
        log.warning("alert %s not delivered to %s (%s%s); it is kept in ops", kind,
                    WEBHOOK_ENV, type(exc).__name__, f", HTTP {status}" if status else "")
        return False
    return True
