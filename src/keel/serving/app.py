"""The prediction service over HTTP: FastAPI routes on a small, fast ASGI guard.

The guard (``Guard``) runs before FastAPI for every request: it names the request (honouring
``X-Request-ID``), reads the body and refuses it past the size limit (413), sheds load beyond the
in-flight limit (503 with ``Retry-After``; the health probes always answer), and bounds each
request's time. Routes with a fixed path (``/v1/predict`` among them) it calls itself, with the
same access dependencies FastAPI would run (``DirectRoute``): FastAPI's router, dependency solver
and middleware cost more per request than the model. FastAPI still holds every route, for the
OpenAPI document and the access walk, and serves the others.

The routes parse JSON with orjson and answer every error as a 4xx body that names the field path
and the reason (a ``NaN`` or an infinity included); a model failure is answered by the fallback
chain, never by a 500.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from keel.errors import InvalidInput, KeelError, NotFound
from keel.identity.roles import Role
from keel.serving.access import PUBLIC_PATHS, Access, Unauthenticated, route_role, unguarded_routes
from keel.serving.checks import InvalidRecords
from keel.serving.follower import ReleaseFollower
from keel.serving.http_status import http_status
from keel.serving.ids import new_id
from keel.serving.inference import InferRequest, infer_response, model_metadata, tensor_problems
from keel.serving.metrics import ServingMetrics
from keel.serving.outcomes import OutcomeWriter
from keel.serving.service import PredictionService

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("keel.serving")

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REQUEST_ID_CHARS = "letters, digits, '.', '_', ':' and '-'"
MAX_EXPLAIN = 20


@dataclass(frozen=True)
class ServeLimits:
    max_body_bytes: int = 1_048_576
    request_timeout_seconds: float = 10.0
    max_inflight: int = 512
    retry_after_seconds: int = 1


@dataclass
class Serving:
    """Everything the routes need; built by the composition in ``keel.serving.server``."""

    project: str
    service: PredictionService
    outcomes: OutcomeWriter
    follower: ReleaseFollower
    access: Access
    metrics: ServingMetrics
    limits: ServeLimits
    records_schema: dict[str, Any]
    close: Callable[[], None]


def create_app(serving: Serving) -> ASGIApp:
    """The ASGI application: the guard in front of the FastAPI routes."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        yield
        serving.close()  # after uvicorn drained in-flight requests: flush the logs, stop

    app = FastAPI(
        title=f"Keel prediction service: {serving.project}",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    _routes(app, serving)
    missing = unguarded_routes(app)
    if missing:  # a route without an access policy is a defect, refused at start-up
        raise RuntimeError(f"routes without an access policy: {', '.join(missing)}")
    app.add_exception_handler(KeelError, _keel_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
    return Guard(app, serving.limits, serving.metrics, direct_routes(app))


def _routes(app: FastAPI, serving: Serving) -> None:
    service, access, project = serving.service, serving.access, serving.project
    anyone = [Depends(access.needs(Role.VIEWER))]
    operators = [Depends(access.needs(Role.OPERATOR))]

    @app.post(
        "/v1/predict",
        dependencies=anyone,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": serving.records_schema}},
            }
        },
    )
    async def predict(request: Request) -> Response:
        """Score one or many records: score, decision, model, optional top-k contributions."""
        body = _json_object(await request.body())
        explain = _explain(body.get("explain", 0))
        _only(body, "records", "explain")
        if "records" not in body:
            raise InvalidInput("required", path="records")
        records = service.check(body["records"])
        request_id = _request_id(request)
        answers = await service.predict(records, request_id=request_id, explain=explain)
        return _json(
            {"predictions": [a.to_dict() for a in answers], "request_id": request_id},
            headers={"x-request-id": request_id},
        )

    @app.post("/v1/outcomes", dependencies=operators, status_code=202)
    async def outcomes(request: Request) -> Response:
        """Labels or reviewers' decisions that arrived later, by prediction id or entity id."""
        body = _json_object(await request.body())
        _only(body, "outcomes")
        stored = await serving.outcomes.record(body.get("outcomes"), source="api")
        return _json({"accepted": stored}, status=202)

    @app.get("/v2/health/live")
    async def live() -> Response:
        return _json({"live": True})

    @app.get("/v2/health/ready")
    async def ready_v2() -> Response:
        return _readiness(serving)

    @app.get("/healthz")
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> Response:
        return _readiness(serving)

    @app.get("/v2/models/{name}", dependencies=anyone)
    async def metadata(name: str) -> Response:
        _known(name, project)
        return _json(model_metadata(project, serving.follower.current, serving.records_schema))

    @app.post("/v2/models/{name}/infer", dependencies=anyone)
    async def infer(name: str, request: Request) -> Response:
        """Open Inference Protocol V2: columnar inputs named after the contract's columns."""
        _known(name, project)
        parsed = InferRequest.parse(_json_object(await request.body()))
        try:
            records = service.check(parsed.records())
        except InvalidRecords as error:
            raise tensor_problems(parsed, error, service.checker.names) from None
        if parsed.id is not None:  # the client's id names the request, as X-Request-ID does
            if not REQUEST_ID.fullmatch(parsed.id):
                raise InvalidInput(f"expected 1 to 128 of {REQUEST_ID_CHARS}", path="id")
            request.scope["keel.request_id"] = parsed.id
        request_id = _request_id(request)
        answers = await service.predict(records, request_id=request_id)
        return _json(infer_response(project, parsed, answers, request_id))

    @app.get("/v1/release", dependencies=anyone)
    async def release() -> Response:
        """The release this worker serves, and any newer one it refused to load."""
        current = serving.follower.current
        refused = serving.follower.refused
        return _json(
            {
                "release": current.release,
                "champion": current.champion.model if current.champion else None,
                "canary": current.canary.model if current.canary else None,
                "canary_share": current.canary_share,
                "shadow": [s.model for s in current.shadows],
                "refused": {
                    "release": refused.release,
                    "reasons": {f"{project}/v{v}": why for v, why in refused.reasons.items()},
                }
                if refused
                else None,
            }
        )

    @app.get("/metrics", dependencies=anyone)
    async def metrics() -> Response:
        serving.metrics.swaps.set(serving.follower.swaps)
        serving.metrics.refused.set(1 if serving.follower.refused else 0)
        return Response(serving.metrics.exposition(), media_type="text/plain; version=0.0.4")

    @app.get("/openapi.json", dependencies=anyone)
    async def openapi() -> Response:
        return _json(app.openapi())


def _readiness(serving: Serving) -> Response:
    current = serving.follower.current
    if not current.ready:
        refused = serving.follower.refused
        reason = "no model is loaded" + (f"; refused {refused.summary()}" if refused else "")
        return _json({"ready": False, "reason": reason}, 503)
    return _json({"ready": True, "release": current.release})


def _known(name: str, project: str) -> None:
    if name != project:
        raise NotFound(
            "model", name, message=f"unknown model {name!r}; this service serves {project!r}"
        )


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise _decode_problem(raw, error) from None
    if not isinstance(body, dict):
        raise InvalidInput(f"expected a JSON object, got {type(body).__name__}", path="body")
    return body


class _NonFinite(float):
    """A NaN or infinite number as the lenient parser read it, kept to name its path."""

    text: str


def _decode_problem(raw: bytes, error: orjson.JSONDecodeError) -> InvalidInput:
    """Why a body is not JSON: the path of a NaN or infinity, else where parsing stopped.

    Only on the error path: orjson (strict JSON) refused the body; the standard library's
    lenient parser reads ``NaN``, ``Infinity`` and overflowing numbers, so their field is named.
    """
    try:
        lenient = json.loads(raw, parse_constant=_non_finite, parse_float=_float)
    except (ValueError, RecursionError):
        return InvalidInput(f"malformed JSON: {error}", path="body")
    found = _first_non_finite(lenient, "")
    if found is None:
        return InvalidInput(f"malformed JSON: {error}", path="body")
    path, value = found
    return InvalidInput(
        f"{value.text} is not a finite number; JSON has none: send null for a missing value",
        path=path or "body",
    )


def _non_finite(text: str) -> _NonFinite:
    value = _NonFinite(text)
    value.text = text
    return value


def _float(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else _non_finite(text)


def _first_non_finite(value: object, path: str) -> tuple[str, _NonFinite] | None:
    if isinstance(value, _NonFinite):
        return path, value
    if isinstance(value, dict):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        found = _first_non_finite(item, where)
        if found is not None:
            return found
    return None


def _only(body: dict[str, Any], *fields: str) -> None:
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", path=unknown[0])


def _explain(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EXPLAIN:
        raise InvalidInput(f"expected an integer from 0 to {MAX_EXPLAIN}", path="explain")
    return value


def _request_id(request: Request) -> str:
    return str(request.scope.get("keel.request_id") or new_id())


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def _keel_error(request: Request, error: KeelError) -> Response:
    """Every Keel error as its family's status and a body naming the field path and reason."""
    status = http_status(error)
    if isinstance(error, Unauthenticated):
        status = 401
    if isinstance(error, InvalidRecords):
        errors = [p.to_dict() for p in error.problems]
    else:
        path = error.fields.get("path") or error.fields.get("entity") or ""
        errors = [{"path": path, "reason": error.message}]
    body: dict[str, Any] = {"errors": errors}
    if isinstance(error, InvalidRecords) and error.total > len(errors):
        body["more"] = error.total - len(errors)
    if error.hint:
        body["hint"] = error.hint
    headers = {"retry-after": "1"} if status == 503 else None
    return _json(body, status, headers)


async def _http_error(request: Request, error: HTTPException) -> Response:
    """Starlette's own refusals (no such route, wrong method) in the error shape."""
    method, path = request.method, request.url.path
    if error.status_code == 404:
        reason = f"no route {method} {path}"
    elif error.status_code == 405:
        allowed = (error.headers or {}).get("Allow", "")
        reason = f"{method} is not allowed on {path}; use {allowed}"
    else:
        reason = str(error.detail)
    return _json(
        {"errors": [{"path": "", "reason": reason}]}, error.status_code, dict(error.headers or {})
    )


async def _unexpected(request: Request, error: Exception) -> Response:
    """A defect, not a model failure (those fall back): a 500 in the error shape, logged."""
    request_id = _request_id(request)
    log.error("request %s failed", request_id, exc_info=error)
    reason = f"internal error; the server log has the details under request id {request_id}"
    return _json({"errors": [{"path": "", "reason": reason}]}, 500)


@dataclass(frozen=True)
class DirectRoute:
    """A route the guard calls itself: the same endpoint and the same access dependencies as in
    FastAPI's route table, without FastAPI's router, dependency solver and middleware, which
    cost more per request than the prediction itself."""

    endpoint: Callable[..., Awaitable[Response]]
    dependencies: tuple[Callable[[Request], Awaitable[None]], ...]
    takes_request: bool

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
            response = await _keel_error(request, error)
        except Exception as error:
            response = await _unexpected(request, error)
        await response(scope, receive, send)


def direct_routes(app: FastAPI) -> dict[tuple[str, str], DirectRoute]:
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
        direct = DirectRoute(route.endpoint, tuple(calls), bool(params))  # type: ignore[arg-type]
        for method in route.methods or ():
            found[method, route.path] = direct
    return found


class Guard:
    """Pure ASGI, in front of everything: request ids, body limit, load shedding, time limit.

    The guard reads the whole body itself (refusing it past the limit, declared or not) and
    hands it to the routes in one message, so no route ever sees a partial or oversized body.
    """

    def __init__(
        self,
        app: ASGIApp,
        limits: ServeLimits,
        metrics: ServingMetrics,
        direct: dict[tuple[str, str], DirectRoute] | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        self.metrics = metrics
        self.direct = direct or {}
        self.inflight = 0
        metrics.inflight.set_function(lambda: self.inflight)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        incoming, declared = _scan_headers(scope)
        request_id = incoming or new_id()
        scope["keel.request_id"] = request_id
        if self.inflight >= self.limits.max_inflight:
            self.metrics.rejected.inc()
            await _reply(
                send,
                503,
                {"errors": [{"path": "", "reason": "overloaded"}]},
                request_id,
                retry=self.limits.retry_after_seconds,
            )
            return
        if declared is not None and declared > self.limits.max_body_bytes:
            await _reply(send, 413, _too_large(self.limits.max_body_bytes), request_id)
            return
        self.inflight += 1
        started = time.perf_counter()
        status = {"code": 500, "sent": False}
        try:
            async with asyncio.timeout(self.limits.request_timeout_seconds):
                await self._serve(scope, receive, _tagged(send, scope, status), status)
        except TimeoutError:
            if not status["sent"]:
                reason = f"no answer within {self.limits.request_timeout_seconds:g} s"
                await _reply(
                    send,
                    503,
                    {"errors": [{"path": "", "reason": reason}]},
                    scope["keel.request_id"],
                    retry=self.limits.retry_after_seconds,
                )
                status["code"] = 503
        finally:
            self.inflight -= 1
            elapsed = time.perf_counter() - started
            self.metrics.request(_route_label(path), status["code"], elapsed)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, status: dict[str, Any]
    ) -> None:
        try:
            body = await _read_body(receive, self.limits.max_body_bytes)
        except _ClientLeft:
            status["code"] = 499  # nginx's "client closed request", for the metrics only
            return
        if body is None:  # over the limit: refused before any route runs
            await _reply(
                send, 413, _too_large(self.limits.max_body_bytes), scope["keel.request_id"]
            )
            return
        direct = self.direct.get((scope["method"], scope["path"]))
        if direct is None:
            await self.app(scope, _replay(body, receive), send)
        else:
            await direct(scope, _replay(body, receive), send)


class _ClientLeft(Exception):
    """The client disconnected before its body arrived."""


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


STATIC_ROUTES = frozenset(
    {"/v1/predict", "/v1/outcomes", "/v1/release", "/metrics", "/openapi.json"}
)


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


def _too_large(limit: int) -> dict[str, Any]:
    return {"errors": [{"path": "body", "reason": f"larger than the limit of {limit:,} bytes"}]}


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


__all__ = ["ServeLimits", "Serving", "create_app"]
