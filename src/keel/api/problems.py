"""Every error of the control plane as one JSON problem body (RFC 9457 style).

``{"type", "title", "status", "detail", "path", "hint", "error"}``: ``path`` names the field
(``body.note``, ``query.limit``, ``path.version``, ``authorization``), ``error`` the Keel error
family. The status comes from the one table every Keel HTTP face uses
(``keel.serving.http_status``); unknown routes answer 404 and wrong methods 405 in the same
shape, and an unexpected failure a 500 that names no internals.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from keel.api.guard import BodyTooLarge
from keel.errors import KeelError
from keel.serving.http_status import http_status

log = logging.getLogger("keel.api")
PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem(
    status: int,
    detail: str,
    *,
    path: str | None = None,
    hint: str | None = None,
    error: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem response; ``path`` is the field path that caused it."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if path:
        body["path"] = path
    if hint:
        body["hint"] = hint
    if error:
        body["error"] = error
    return Response(orjson.dumps(body), status, headers=headers, media_type=PROBLEM)


async def keel_error(_request: Request, error: KeelError) -> Response:
    path = error.fields.get("path")
    return problem(
        _status(error),
        error.message,
        path=str(path) if path else None,
        hint=error.hint,
        error=type(error).__name__,
    )


def _status(error: KeelError) -> int:
    """The family's status, but for the few leaves HTTP names more precisely."""
    from keel.api.release_tag import PreconditionFailed, PreconditionRequired  # noqa: PLC0415

    if isinstance(error, BodyTooLarge):
        return 413
    if isinstance(error, PreconditionFailed):
        return 412
    if isinstance(error, PreconditionRequired):
        return 428
    return http_status(error)


async def http_error(_request: Request, error: HTTPException) -> Response:
    detail = error.detail if isinstance(error.detail, str) else TITLES.get(error.status_code, "")
    if error.status_code == 404 and detail == "Not Found":
        detail = "no such route"
    return problem(error.status_code, detail, headers=getattr(error, "headers", None))


async def validation_error(_request: Request, error: RequestValidationError) -> Response:
    """The first problem, with its field path (``query.limit``); all of them under ``errors``."""
    found = error.errors()
    first = found[0] if found else {"loc": (), "msg": "invalid request"}
    path = ".".join(str(part) for part in first.get("loc", ()))
    response = problem(422, f"{path or 'request'}: {first.get('msg', 'invalid')}", path=path)
    body = orjson.loads(response.body)
    body["errors"] = [
        {"path": ".".join(str(p) for p in e.get("loc", ())), "detail": str(e.get("msg", ""))}
        for e in found[:20]
    ]
    return Response(orjson.dumps(body), 422, media_type=PROBLEM)


async def unexpected(request: Request, error: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return problem(500, "an unexpected error occurred; the server log has the details")
