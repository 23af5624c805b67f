"""Incident notifications as a JSON POST to a configured URL, with a timeout and retries.

Retries follow connection errors, timeouts and 5xx answers, with doubling pauses; a 4xx answer
is the receiver refusing the message and is not retried. The URL is never logged in full (it
often carries a token), only its scheme and host.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from keel.errors import ConfigError


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    attempts: int
    status: int | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "attempts": self.attempts,
            "status": self.status,
            "error": self.error,
        }


@dataclass(frozen=True)
class Webhook:
    url: str
    timeout_seconds: float = 5.0
    retries: int = 3
    pause_seconds: float = 0.5

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                "monitoring.notify.webhook must be an http(s) URL",
                path="monitoring.notify.webhook",
            )

    @property
    def shown(self) -> str:
        """The URL without path, query or credentials: safe for logs and audit details."""
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}"

    def send(self, payload: dict[str, Any]) -> Delivery:
        """POST ``payload``; up to ``1 + retries`` attempts, each bounded by the timeout."""
        body = orjson.dumps(payload, default=str)
        error: str | None = None
        status: int | None = None
        pause = self.pause_seconds
        for attempt in range(1, self.retries + 2):
            request = urllib.request.Request(  # noqa: S310 - http(s) only, see __post_init__
                self.url,
                data=body,
                method="POST",
                headers={"content-type": "application/json", "user-agent": "keel-monitor"},
            )
            try:
                with urllib.request.urlopen(  # noqa: S310 - http(s) only
                    request, timeout=self.timeout_seconds
                ) as answer:
                    return Delivery(True, attempt, answer.status, None)
            except urllib.error.HTTPError as refused:
                status, error = refused.code, f"HTTP {refused.code}"
                if refused.code < 500:
                    return Delivery(False, attempt, status, error)
            except (urllib.error.URLError, TimeoutError, OSError) as failed:
                reason = getattr(failed, "reason", failed)
                status, error = None, f"{type(failed).__name__}: {reason}"
            if attempt <= self.retries:
                time.sleep(pause)
                pause *= 2
        return Delivery(False, self.retries + 1, status, error)
