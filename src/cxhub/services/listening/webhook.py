"""Alerts sent to a webhook: one JSON POST per alert, retried with backoff, the outcome stored.

An alert is sent once it is stored and not yet delivered; a failed delivery is tried again on
the next run, up to `max_attempts` in all. Alerts whose spike ended more than `max_age` before
the newest data are history (a first run over a year of data finds a year of spikes) and are
marked skipped instead of sent. The alert keeps the webhook's scheme and host only: a webhook
path often holds a secret token. The HTTP call happens outside the writer; only the outcome is
written.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from cxhub import __version__
from cxhub.warehouse import Warehouse

MAX_AGE = dt.timedelta(hours=48)


@dataclass(frozen=True)
class Delivery:
    ok: bool
    status: str  # "delivered (HTTP 200)", "failed: HTTP 500", "failed: connection refused"
    attempts: int


@dataclass
class DeliveryReport:
    delivered: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[int]]:
        return {"delivered": self.delivered, "failed": self.failed, "skipped": self.skipped}


def post_json(url: str, payload: dict[str, Any], *, retries: int = 3, backoff: float = 0.5,
              timeout: float = 5.0, sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """POST `payload` as JSON; try up to `retries` times, waiting backoff, 2 x backoff ...
    between tries. A 2xx answer is success; 4xx other than 408 and 429 is not retried."""
    body = orjson.dumps(payload)
    status = "failed: not tried"
    for attempt in range(1, retries + 1):
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": f"cxhub/{__version__}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return Delivery(True, f"delivered (HTTP {response.status})", attempt)
        except urllib.error.HTTPError as exc:
            status = f"failed: HTTP {exc.code}"
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                return Delivery(False, status, attempt)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            status = f"failed: {reason}"[:200]
        if attempt < retries:
            sleep(backoff * 2 ** (attempt - 1))
    return Delivery(False, status, retries)


def payload(alert: dict[str, Any]) -> dict[str, Any]:
    """What the webhook receives: the alert's fields, times as ISO strings."""
    detail = alert.get("detail") or {}
    if isinstance(detail, str):
        detail = json.loads(detail)
    out = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in alert.items()
           if k in ("alert_id", "kind", "dimension", "value", "window_start", "window_end",
                    "observed", "expected", "threshold", "score", "status")}
    out["detail"] = detail
    out["text"] = (f"cxhub: {alert['kind'].replace('_', ' ')} in {alert['dimension']} "
                   f"{alert['value']!r}: {alert['observed']:g} seen, "
                   f"{alert['expected']:.1f} expected, from {out['window_start']}")
    return out


def deliver_pending(wh: Warehouse, url: str, *, newest: dt.datetime | None = None,
                    max_age: dt.timedelta = MAX_AGE, max_attempts: int = 9,
                    retries: int = 3, backoff: float = 0.5, timeout: float = 5.0
                    ) -> DeliveryReport:
    """Send every alert not yet delivered to `url`; record status, attempts and time."""
    report = DeliveryReport()
    rows = wh.read_dicts(
        "SELECT alert_id, kind, dimension, value, window_start, window_end, observed, expected,"
        " threshold, score, status, detail, coalesce(webhook_attempts, 0) AS tries FROM alerts "
        "WHERE delivered_at IS NULL AND (webhook_status IS NULL OR webhook_status LIKE "
        "'failed%') AND coalesce(webhook_attempts, 0) < ? ORDER BY alert_id", [max_attempts])
    cutoff = (newest - max_age) if newest is not None else None
    for alert in rows:
        done = alert.pop("tries")
        if cutoff is not None and alert["window_end"] < cutoff:
            _record(wh, alert["alert_id"], url, f"skipped: ended over {max_age} before the "
                    "newest data", 0, None)
            report.skipped.append(alert["alert_id"])
            continue
        result = post_json(url, payload(alert), retries=min(retries, max_attempts - done),
                           backoff=backoff, timeout=timeout)
        when = dt.datetime.now(dt.UTC).replace(tzinfo=None) if result.ok else None
        _record(wh, alert["alert_id"], url, result.status, result.attempts, when)
        (report.delivered if result.ok else report.failed).append(alert["alert_id"])
    return report


def redact(url: str) -> str:
    """The URL as stored: scheme and host only, since webhook paths often carry a secret
    token (Slack, Teams)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}" + ("/..." if parts.path.strip(
        "/") else "")


def _record(wh: Warehouse, alert_id: int, url: str, status: str, attempts: int,
            delivered_at: dt.datetime | None) -> None:
    url = redact(url)
    wh.write(lambda con: con.execute(
        "UPDATE alerts SET webhook_url = ?, webhook_status = ?, "
        "webhook_attempts = coalesce(webhook_attempts, 0) + ?, delivered_at = ? "
        "WHERE alert_id = ?", [url, status, attempts, delivered_at, alert_id]))
