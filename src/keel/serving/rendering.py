"""What the prediction service answers with: JSON responses, and every error in one shape.

Every refusal, from a route, the guard or the framework, is ``{"errors": [{"path", "reason"},
...], "hint"?, "more"?}``, built by ``error_body``; a Keel error's status comes from its family
(``keel.serving.http_status``), and a 503 carries ``Retry-After`` from the settings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from keel.errors import KeelError
from keel.serving.checks import InvalidRecords, Problem
from keel.serving.http_status import http_status
from keel.serving.ids import new_id

log = logging.getLogger("keel.serving")

UNAVAILABLE = 503


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response, written by orjson (numpy values included)."""
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_body(
    problems: Sequence[Problem], *, hint: str | None = None, more: int = 0
) -> dict[str, Any]:
    """The one shape of every error answer: the problems, how many more, and how to fix them."""
    body: dict[str, Any] = {"errors": [problem.to_dict() for problem in problems]}
    if more > 0:
        body["more"] = more
    if hint:
        body["hint"] = hint
    return body


def problem(reason: str, path: str = "") -> Problem:
    """One problem of an error body; ``path`` names the field, empty for the request itself."""
    return Problem(path=path, reason=reason)


def request_id(request: Request) -> str:
    """The id the guard gave the request (or a fresh one, for a request it did not see)."""
    return str(request.scope.get("keel.request_id") or new_id())


@dataclass(frozen=True)
class ErrorRenderer:
    """Turns exceptions into answers; ``retry_after_seconds`` is what a 503 asks clients to wait."""

    retry_after_seconds: int

    def retry_headers(self, status: int) -> dict[str, str] | None:
        return {"retry-after": str(self.retry_after_seconds)} if status == UNAVAILABLE else None

    async def keel_error(self, request: Request, error: KeelError) -> Response:
        """Every Keel error as its family's status and a body naming the field path and reason."""
        status = http_status(error)
        if isinstance(error, InvalidRecords):
            problems: Sequence[Problem] = error.problems
        else:
            path = error.fields.get("path") or error.fields.get("entity") or ""
            problems = [problem(error.message, path)]
        more = error.total - len(problems) if isinstance(error, InvalidRecords) else 0
        body = error_body(problems, hint=error.hint, more=more)
        return json_response(body, status, self.retry_headers(status))

    async def http_error(self, request: Request, error: HTTPException) -> Response:
        """Starlette's own refusals (no such route, wrong method) in the error shape."""
        method, path = request.method, request.url.path
        if error.status_code == 404:
            reason = f"no route {method} {path}"
        elif error.status_code == 405:
            allowed = (error.headers or {}).get("Allow", "")
            reason = f"{method} is not allowed on {path}; use {allowed}"
        else:
            reason = str(error.detail)
        body = error_body([problem(reason)])
        return json_response(body, error.status_code, dict(error.headers or {}))

    async def unexpected(self, request: Request, error: Exception) -> Response:
        """A defect, not a model failure (those fall back): a 500 in the error shape, logged."""
        named = request_id(request)
        log.error("request %s failed", named, exc_info=error)
        reason = f"internal error; the server log has the details under request id {named}"
        return json_response(error_body([problem(reason)]), 500)
