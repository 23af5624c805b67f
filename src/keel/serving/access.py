"""Who may call which route: one dependency, and a check that every route declares it.

When the project has users, every route except the health probes needs an API key
(``Authorization: Bearer KEY`` or ``X-API-Key: KEY``) of a user whose role allows the route. A
project without users (a laptop) is open. Keys are looked up by their hash and cached for a few
seconds, so a revoked key stops working within ``ttl_seconds``. The database is read in a thread,
never on the event loop, and a request waits for it at most ``wait_seconds``: while the database
cannot be read (stopped, or locked by another writer), what was read last keeps deciding, and a
key never seen answers 503: predictions go on through a database outage, and no unknown key is
let in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

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
    wait_seconds: float = 0.5
    """How long a request waits for the database before deciding with what was read last."""

    def __post_init__(self) -> None:
        self._users: dict[str, tuple[float, User | None]] = {}
        self._count: tuple[float, int] = (-1e9, 0)
        self._reads: dict[str, tuple[float, asyncio.Future[Any]]] = {}

    def needs(self, role: Role) -> Callable[[Request], Awaitable[None]]:
        """The dependency for a route open to ``role`` and above; it carries the role."""

        async def allowed(request: Request) -> None:
            headers = request.headers
            await self.check(headers.get("authorization"), headers.get("x-api-key"), role)

        allowed.keel_role = role  # type: ignore[attr-defined]
        return allowed

    def prime(self) -> None:
        """Read how many users there are now (at start-up, off any request's path)."""
        self._count = (time.monotonic(), self.count())

    async def check(self, authorization: str | None, api_key: str | None, role: Role) -> None:
        if await self._user_count() == 0:
            return
        key = api_key or _bearer(authorization)
        if not key:
            raise Unauthenticated(
                "this route needs an API key",
                hint="send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                path="authorization",
            )
        user = await self._user(hash_api_key(key))
        if user is None or not user.active:
            raise Unauthenticated("the API key is unknown or revoked", path="authorization")
        if not user.role.allows(role):
            raise PermissionDenied(
                f"this route needs the {role.value} role; {user.name} is {user.role.value}",
                path="authorization",
            )

    async def _user_count(self) -> int:
        at, count = self._count
        if time.monotonic() - at <= self.ttl_seconds:
            return count

        def keep(found: int) -> None:
            self._count = (time.monotonic(), found)

        return int(await self._read("", self.count, keep, known=at >= 0, last=count))

    async def _user(self, key_hash: str) -> User | None:
        cached = self._users.get(key_hash)
        if cached is not None and time.monotonic() - cached[0] <= self.ttl_seconds:
            return cached[1]

        def keep(found: User | None) -> None:
            if len(self._users) > 10_000:
                self._users.clear()
            self._users[key_hash] = (time.monotonic(), found)

        last = cached[1] if cached is not None else None
        found: User | None = await self._read(
            key_hash, lambda: self.lookup(key_hash), keep, known=cached is not None, last=last
        )
        return found

    async def _read(
        self,
        name: str,
        read: Callable[[], Any],
        keep: Callable[[Any], None],
        *,
        known: bool,
        last: Any,
    ) -> Any:
        """``read()`` in a thread, one at a time per ``name``; its result is kept when it
        arrives. A request waits for it at most ``wait_seconds``: past that, or if it fails,
        what was read last decides (a locked or stopped database never stalls the service),
        and a name never read answers 503."""
        now = time.monotonic()
        started, pending = self._reads.get(name, (now, None))
        if pending is None:
            pending = asyncio.ensure_future(asyncio.to_thread(read))
            self._reads[name] = (now, pending)
            pending.add_done_callback(lambda done: self._settled(name, done, keep, known, last))
        waited = now - started
        if known and waited >= self.wait_seconds:  # a read already overdue: do not queue up
            return last
        try:
            return await asyncio.wait_for(asyncio.shield(pending), self.wait_seconds - waited)
        except Exception as error:
            if not known:
                raise _unreadable() from error
            return last

    def _settled(
        self,
        name: str,
        done: asyncio.Future[Any],
        keep: Callable[[Any], None],
        known: bool,
        last: Any,
    ) -> None:
        """Keep what a read found; after a failed one, what was read before (for another
        ``ttl_seconds``, so that an outage costs one read per period, not one per request)."""
        self._reads.pop(name, None)
        if done.cancelled():
            return
        error = done.exception()
        if error is None:
            keep(done.result())
            return
        log.warning("cannot read the users, still deciding as before: %s", error)
        if known:
            keep(last)


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
