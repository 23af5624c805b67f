"""What every request of ``keel server`` passes before a route sees it, as plain ASGI.

- A path with ``..`` segments, a NUL, bytes outside ASCII (raw or percent-encoded) or more than
  ``MAX_PATH`` characters is refused with 400, before routing.
- A body larger than ``max_body_bytes`` is refused with 413, whether announced by
  ``Content-Length`` or found while it streams in.
- Every answer carries the security headers: a strict Content-Security-Policy (only this
  origin, no inline script), no framing, no sniffing, no referrer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from keel.errors import InvalidInput

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_PATH = 512
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


class BodyTooLarge(InvalidInput):
    """The body grew past the limit while it streamed in (answered 413 by ``problems``)."""


def bad_path(raw: bytes) -> str | None:
    """Why a raw request path is refused, or None."""
    if len(raw) > MAX_PATH:
        return f"the path is longer than {MAX_PATH} characters"
    lowered = raw.lower()
    if b"\x00" in raw or b"%00" in lowered:
        return "the path contains a NUL character"
    if any(byte > 0x7F for byte in raw) or any(
        lowered[i : i + 3] in _HIGH for i in range(len(lowered)) if lowered[i : i + 1] == b"%"
    ):
        return "the path contains characters outside ASCII"
    segments = lowered.replace(b"%2e", b".").replace(b"%2f", b"/").replace(b"%5c", b"/").split(b"/")
    if any(segment in (b"..", b".") for segment in segments):
        return "the path contains a '..' or '.' segment"
    return None


_HIGH = {f"%{i:02x}".encode() for i in range(0x80, 0x100)}


class Guard:
    """The ASGI wrapper described in the module docstring."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        why = bad_path(scope.get("raw_path") or scope["path"].encode("utf-8", "replace"))
        if why is not None:
            await _problem(send, 400, why, "path")
            return
        length = _content_length(scope)
        if length is not None and length > self.max_body_bytes:
            await _problem(send, 413, self._too_large(), "body")
            return
        await self.app(scope, self._limited(receive), send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body_bytes} bytes"

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise BodyTooLarge(self._too_large(), path="body")
            return message

        return limited


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _with_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", []) if h[0] not in _SECURITY_NAMES]
            message["headers"] = [*headers, *SECURITY_HEADERS]
        await send(message)

    return sending


_SECURITY_NAMES = {name for name, _ in SECURITY_HEADERS}


async def _problem(send: Send, status: int, detail: str, path: str) -> None:
    title = {400: "Bad Request", 413: "Content Too Large"}[status]
    body = orjson.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, "path": path}
    )
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
