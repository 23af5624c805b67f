"""Who may call which route: one dependency, and a check that every route declares it.

When the project has users, every route except the health probes needs an API key
(``Authorization: Bearer KEY`` or ``X-API-Key: KEY``) of a user whose role allows the route. A
project without users (a laptop) is open. Keys are looked up by their hash and cached for a few
seconds, so a revoked key stops working within ``ttl_seconds``. While the database cannot be
read, what was read last keeps deciding, and a key never seen answers 503: predictions go on
through a database outage, and no unknown key is let in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute

from keel.errors import PermissionDenied, StorageUnavailable, Unauthenticated
from keel.identity.keys import hash_api_key
from keel.identity.roles import Role
from keel.identity.users import User

log = logging.getLogger("keel.serving")

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"})

UserLookup = Callable[[str], User | None]
"""The user holding the key with this hash, or None."""
UserCount = Callable[[], int]


@dataclass
class Access:
    lookup: UserLookup
    count: UserCount
    ttl_seconds: float = 5.0

    def __post_init__(self) -> None:
        self._users: dict[str, tuple[float, User | None]] = {}
        self._count: tuple[float, int] = (-1e9, 0)

    def needs(self, role: Role) -> Callable[[Request], Awaitable[None]]:
        """The dependency for a route open to ``role`` and above; it carries the role."""

        async def allowed(request: Request) -> None:
            self.check(request.headers.get("authorization"), request.headers.get("x-api-key"), role)

        allowed.keel_role = role  # type: ignore[attr-defined]
        return allowed

    def check(self, authorization: str | None, api_key: str | None, role: Role) -> None:
        if self._user_count() == 0:
            return
        key = api_key or _bearer(authorization)
        if not key:
            raise Unauthenticated(
                "this route needs an API key",
                hint="send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                path="authorization",
            )
        user = self._user(hash_api_key(key))
        if user is None or not user.active:
            raise Unauthenticated("the API key is unknown or revoked", path="authorization")
        if not user.role.allows(role):
            raise PermissionDenied(
                f"this route needs the {role.value} role; {user.name} is {user.role.value}",
                path="authorization",
            )

    def _user_count(self) -> int:
        at, count = self._count
        now = time.monotonic()
        if now - at > self.ttl_seconds:
            try:
                count = self.count()
            except Exception as error:
                if at < 0:
                    raise _unreadable() from error
                log.warning("cannot read the users, still deciding as before: %s", error)
            self._count = (now, count)
        return count

    def _user(self, key_hash: str) -> User | None:
        now = time.monotonic()
        cached = self._users.get(key_hash)
        if cached is not None and now - cached[0] <= self.ttl_seconds:
            return cached[1]
        try:
            user = self.lookup(key_hash)
        except Exception as error:
            if cached is None:
                raise _unreadable() from error
            log.warning("cannot read the users, still deciding as before: %s", error)
            user = cached[1]
        if len(self._users) > 10_000:
            self._users.clear()
        self._users[key_hash] = (now, user)
        return user


def _unreadable() -> StorageUnavailable:
    return StorageUnavailable(
        "cannot check the API key: the project database cannot be read",
        hint="try again shortly",
        path="authorization",
    )


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def unguarded_routes(app: FastAPI) -> list[str]:
    """Routes that are neither public probes nor guarded by ``Access.needs``: must be none."""
    missing = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if path in PUBLIC_PATHS or (isinstance(route, APIRoute) and route_role(route)):
            continue  # a plain Starlette route or mount cannot carry the dependency at all
        methods = ",".join(sorted(getattr(route, "methods", None) or ()))
        missing.append(f"{methods} {path}".strip())
    return missing


def route_role(route: APIRoute) -> Role | None:
    """The role a route needs (None for a public probe)."""
    for dependency in route.dependant.dependencies:
        role = getattr(dependency.call, "keel_role", None)
        if isinstance(role, Role):
            return role
    return None
