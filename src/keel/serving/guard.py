"""The guard: pure ASGI in front of every route, and the fixed routes it calls itself.

For every request the guard names it (honouring a safe ``X-Request-ID``), reads the whole body
and refuses it past the size limit (413, declared or not), sheds load beyond the in-flight limit
(503 with ``Retry-After``; the health probes always answer) and bounds its time (503). No route
ever sees a partial or oversized body.

Routes with a fixed path (``/v1/predict`` among them) the guard calls directly, with the same
access dependencies FastAPI would run (``DirectRoute``): FastAPI's router, dependency solver and
middleware cost more per request than the model. FastAPI still holds every route, for the
OpenAPI document and the access walk, and serves the others.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from keel.errors import InvalidInput, KeelError
from keel.serving.access import PUBLIC_PATHS, route_role
from keel.serving.ids import new_id
from keel.serving.metrics import ServingMetrics
from keel.serving.rendering import UNAVAILABLE, ErrorRenderer, error_body, problem
from keel.serving.settings import ServeSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REQUEST_ID_CHARS = "letters, digits, '.', '_', ':' and '-'"
STATIC_ROUTES = frozenset(
    {"/v1/predict", "/v1/outcomes", "/v1/release", "/metrics", "/openapi.json"}
)


@dataclass(frozen=True)
class DirectRoute:
    """A route the guard calls itself: the same endpoint and the same access dependencies as in
    FastAPI's route table, without FastAPI's router, dependency solver and middleware, which
    cost more per request than the prediction itself."""

    endpoint: Callable[..., Awaitable[Response]]
    dependencies: tuple[Callable[[Request], Awaitable[None]], ...]
    takes_request: bool
    errors: ErrorRenderer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            for dependency in self.dependencies:
                await dependency(request)
            if self.takes_request:
                response = await self.endpoint(request)
            else:
                response = await self.endpoint()
        except KeelError as error:
            response = await self.errors.keel_error(request, error)
        except Exception as error:
            response = await self.errors.unexpected(request, error)
        await response(scope, receive, send)


def direct_routes(app: FastAPI, errors: ErrorRenderer) -> dict[tuple[str, str], DirectRoute]:
    """The routes the guard may call directly: a fixed path, an endpoint taking at most the
    request, and access dependencies taking only the request (``Access.needs``)."""
    found: dict[tuple[str, str], DirectRoute] = {}
    for route in app.routes:
        if not isinstance(route, APIRoute) or "{" in route.path or route.path in PUBLIC_PATHS:
            continue
        params = list(inspect.signature(route.endpoint).parameters)
        calls = [d.call for d in route.dependant.dependencies]
        simple = all(
            c is not None and list(inspect.signature(c).parameters) == ["request"] for c in calls
        )
        if params not in ([], ["request"]) or not simple or route_role(route) is None:
            continue
        direct = DirectRoute(route.endpoint, tuple(calls), bool(params), errors)  # type: ignore[arg-type]
        for method in route.methods or ():
            found[method, route.path] = direct
    return found


class Guard:
    """Pure ASGI, in front of everything: request ids, body limit, load shedding, time limit."""

    def __init__(
        self,
        app: ASGIApp,
        settings: ServeSettings,
        metrics: ServingMetrics,
        direct: dict[tuple[str, str], DirectRoute] | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self.direct = direct or {}
        self.inflight = 0
        metrics.inflight.set_function(lambda: self.inflight)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        incoming, declared = _scan_headers(scope)
        scope["keel.request_id"] = incoming or new_id()
        if self.inflight >= self.settings.max_inflight:
            self.metrics.rejected.inc()
            await self._unavailable(send, scope, "overloaded")
            return
        if declared is not None and declared > self.settings.max_body_bytes:
            await self._too_large(send, scope)
            return
        self.inflight += 1
        started = time.perf_counter()
        status = {"code": 500, "sent": False}
        try:
            async with asyncio.timeout(self.settings.request_timeout_seconds):
                await self._serve(scope, receive, _tagged(send, scope, status), status)
        except TimeoutError:
            if not status["sent"]:
                limit = self.settings.request_timeout_seconds
                await self._unavailable(send, scope, f"no answer within {limit:g} s")
                status["code"] = UNAVAILABLE
        finally:
            self.inflight -= 1
            elapsed = time.perf_counter() - started
            self.metrics.request(_route_label(scope.get("path", "")), status["code"], elapsed)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, status: dict[str, Any]
    ) -> None:
        try:
            body = await _read_body(receive, self.settings.max_body_bytes)
        except _ClientLeft:
            status["code"] = 499  # nginx's "client closed request", for the metrics only
            return
        if body is None:  # over the limit: refused before any route runs
            await self._too_large(send, scope)
            return
        direct = self.direct.get((scope["method"], scope["path"]))
        if direct is None:
            await self.app(scope, _replay(body, receive), send)
        else:
            await direct(scope, _replay(body, receive), send)

    async def _unavailable(self, send: Send, scope: Scope, reason: str) -> None:
        retry = self.settings.retry_after_seconds
        body = error_body([problem(reason)])
        await _reply(send, UNAVAILABLE, body, scope["keel.request_id"], retry=retry)

    async def _too_large(self, send: Send, scope: Scope) -> None:
        reason = f"larger than the limit of {self.settings.max_body_bytes:,} bytes"
        await _reply(send, 413, error_body([problem(reason, "body")]), scope["keel.request_id"])


class _ClientLeft(InvalidInput):
    """The client disconnected before its body arrived; nobody is left to answer."""

    def __init__(self) -> None:
        super().__init__("the client disconnected before its body arrived", path="body")


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left: nothing to answer
            raise _ClientLeft
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then waits for the disconnect."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _tagged(send: Send, scope: Scope, status: dict[str, Any]) -> Send:
    """Notes the status and stamps the request id (read when the answer starts: a route may
    name the request, as the OIP ``id`` does)."""

    async def tagged(message: Message) -> None:
        if message["type"] == "http.response.start":
            status["code"] = message["status"]
            status["sent"] = True
            headers = [
                (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
            ]
            headers.append((b"x-request-id", scope["keel.request_id"].encode()))
            message["headers"] = headers
        await send(message)

    return tagged


def _route_label(path: str) -> str:
    """A bounded set of metric labels: route templates, never raw client paths."""
    if path in STATIC_ROUTES:
        return path
    if path.startswith("/v2/models/"):
        return "/v2/models/{name}/infer" if path.endswith("/infer") else "/v2/models/{name}"
    return "other"


def _scan_headers(scope: Scope) -> tuple[str | None, int | None]:
    """The client's request id (if it is a safe one) and the declared body length, in one pass."""
    request_id: str | None = None
    length: int | None = None
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            text = value.decode("latin-1")
            request_id = text if REQUEST_ID.fullmatch(text) else None
        elif key == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
    return request_id, length


async def _reply(
    send: Send, status: int, body: dict[str, Any], request_id: str, *, retry: int | None = None
) -> None:
    payload = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    if retry is not None:
        headers.append((b"retry-after", str(retry).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
