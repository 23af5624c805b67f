"""Who calls: every route but the public ones names a user, by API key or session cookie.

``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` for programs; the dashboard's session cookie
(opened with a key at ``/login``) for people. Neither falls back to the local-admin rule: a
request without credentials is 401. The route only establishes *who*; *whether they may* is
decided by the use case it calls, the same rule the CLI meets.

Every route declares the use cases it calls (``uses``); ``undeclared_routes`` lists the ones
that do not, and the app refuses to start with any.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute

from keel.app import logins
from keel.app.session import as_caller
from keel.app.use_case import access_of
from keel.errors import Unauthenticated
from keel.wiring import Keel

F = TypeVar("F", bound=Callable[..., Any])
SESSION_COOKIE = "keel_session"
PUBLIC = "public"


def uses(*operations: object) -> Callable[[F], F]:
    """Declare the use cases a route calls (their policies are the route's access policy);
    ``uses(PUBLIC)`` marks a route anyone may call (the login form, static files)."""

    def mark(endpoint: F) -> F:
        endpoint.keel_uses = operations  # type: ignore[attr-defined]
        return endpoint

    return mark


def declared(route: APIRoute) -> tuple[object, ...]:
    found: tuple[object, ...] = getattr(route.endpoint, "keel_uses", ())
    return found


def all_routes(app: FastAPI) -> list[tuple[str, object]]:
    """Every route of ``app`` with its full path, routers included in it walked through."""

    def walk(routes: list[Any], prefix: str) -> list[tuple[str, object]]:
        found: list[tuple[str, object]] = []
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:  # an included router (FastAPI keeps it whole)
                context = getattr(route, "include_context", None)
                found += walk(inner.routes, prefix + getattr(context, "prefix", ""))
            else:
                found.append((prefix + getattr(route, "path", ""), route))
        return found

    return walk(list(app.routes), "")


def undeclared_routes(app: FastAPI) -> list[str]:
    """Routes that declare no use case with a policy (and are not marked public)."""
    missing = []
    for path, route in all_routes(app):
        if not isinstance(route, APIRoute):
            if path not in ("/openapi.json", "/static"):
                missing.append(path or repr(route))
            continue
        ops = declared(route)
        if ops == (PUBLIC,):
            continue
        if not ops or any(access_of(op) is None for op in ops):
            missing.append(f"{','.join(sorted(route.methods or ()))} {path}")
    return missing


def key_of(request: Request) -> str | None:
    """The API key a request presents, if any."""
    key = request.headers.get("x-api-key")
    header = request.headers.get("authorization") or ""
    if not key and header.lower().startswith("bearer "):
        key = header[7:].strip()
    return key or None


def project(request: Request) -> Keel:
    keel: Keel = request.app.state.keel
    return keel


def caller(request: Request) -> Keel:
    """The project acting for the user this request names (key first, then session)."""
    keel = project(request)
    key = key_of(request)
    if key is not None:
        return as_caller(keel, logins.identify(keel, key))
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        return as_caller(keel, logins.session_actor(keel, token))
    raise Unauthenticated(
        "this route needs an API key",
        hint="send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
        path="authorization",
    )


def api_caller(request: Request) -> Keel:
    """As ``caller``, for the JSON API: keys only, so no cross-site form can act through a
    browser's cookie (the dashboard's forms carry a CSRF token instead)."""
    key = key_of(request)
    if key is None:
        raise Unauthenticated(
            "this route needs an API key",
            hint="send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
            path="authorization",
        )
    keel = project(request)
    return as_caller(keel, logins.identify(keel, key))


Caller = Annotated[Keel, Depends(api_caller)]
