"""Who a server's caller is: an API key, or a browser session opened with one.

A server never falls back to the local-admin rule: every request names its user, by a key
(``identify``) or by a session cookie (``session_actor``). A session is opened with a key
(``login``), stored as the hash of its token, and ends at its expiry or at ``logout``; the
user is read again on every request, so revoking the user ends its sessions too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from keel.app.result import Result
from keel.app.use_case import query, use_case
from keel.errors import Unauthenticated
from keel.identity.actor import Actor
from keel.identity.keys import hash_api_key
from keel.identity.roles import Role
from keel.identity.sessions import Session, hash_token, new_session_token
from keel.types import utcnow
from keel.wiring import Keel

MAX_SESSION_HOURS = 24.0


@query(action="checking an API key")
def identify(keel: Keel, api_key: str) -> Actor:
    """The active user holding ``api_key``; raises ``Unauthenticated`` for any other key."""
    with keel.reader() as unit:
        user = unit.users.by_key_hash(hash_api_key(api_key))
    if user is None or not user.active:
        raise Unauthenticated(
            "the API key is unknown or revoked",
            hint="ask an admin for a key: keel users add NAME --role ROLE",
            path="authorization",
        )
    return Actor(user.name, user.role, "api-key")


@query(action="checking a session")
def session_actor(keel: Keel, token: str) -> Actor:
    """The user of a live session; raises ``Unauthenticated`` once it ended or expired, or
    when its user was revoked."""
    with keel.reader() as unit:
        session = unit.sessions.get(hash_token(token))
        user = unit.users.get(session.user) if session is not None else None
    if session is None or user is None or not session.live(utcnow()) or not user.active:
        raise Unauthenticated(
            "the session has ended", hint="log in again with your API key", path="cookie"
        )
    return Actor(user.name, user.role, "session")


@dataclass(frozen=True)
class NewSession(Result):
    """A session just opened: the token goes into the cookie and is never shown again."""

    user: str
    role: str
    token: str
    expires_in_seconds: int

    def to_dict(self) -> dict[str, object]:  # the token stays out of every JSON form
        return {"user": self.user, "role": self.role, "expires_in_seconds": self.expires_in_seconds}


# A session is the caller's own credential, not project state: any user may open and end
# their own, so these need only the viewer role (they change nothing anyone else sees).
@use_case(Role.VIEWER, action="opening a session")
def login(keel: Keel, actor: Actor, *, hours: float = 8.0) -> NewSession:
    """Open a session for the caller (established by their key) lasting ``hours``."""
    hours = min(max(hours, 0.01), MAX_SESSION_HOURS)
    token, now = new_session_token(), utcnow()
    session = Session(actor.name, now, now + timedelta(hours=hours))
    with keel.unit() as unit:
        unit.sessions.add(session, hash_token(token))
    return NewSession(actor.name, actor.role.value, token, int(hours * 3600))


@use_case(Role.VIEWER, action="ending a session")
def logout(keel: Keel, actor: Actor, token: str) -> None:
    """End the caller's session: its cookie stops working even if it was copied."""
    with keel.unit() as unit:
        session = unit.sessions.get(hash_token(token))
        if session is not None and session.user == actor.name:
            unit.sessions.end(hash_token(token), utcnow())
