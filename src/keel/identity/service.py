"""User management verbs; each one is audited in the same transaction as its change."""

from __future__ import annotations

from typing import Protocol

from keel.audit.ports import AuditLog
from keel.errors import Unauthenticated
from keel.identity.actor import LOCAL_ADMIN, Actor, require_role
from keel.identity.keys import hash_api_key, new_api_key
from keel.identity.ports import UserRepo
from keel.identity.roles import Role
from keel.identity.users import User
from keel.types import check_name, utcnow


class IdentityUnit(Protocol):
    """The repositories these verbs need, inside one transaction."""

    @property
    def users(self) -> UserRepo: ...

    @property
    def audit(self) -> AuditLog: ...


def add_user(unit: IdentityUnit, actor: Actor, name: str, role: Role) -> tuple[User, str]:
    """Create a user and return it with its API key, the only time the key is visible."""
    require_role(actor, Role.ADMIN, action="adding a user")
    user = User(name=check_name(name, field="name"), role=role, created_at=utcnow())
    key = new_api_key()
    unit.users.add(user, hash_api_key(key))
    unit.audit.append(
        actor=actor.name, action="user.add", subject=f"user:{name}", details={"role": role.value}
    )
    return user, key


def revoke_user(unit: IdentityUnit, actor: Actor, name: str) -> User:
    """Revoke a user's key; the name stays reserved so the audit trail stays unambiguous."""
    require_role(actor, Role.ADMIN, action="revoking a user")
    user = unit.users.revoke(name, utcnow())
    unit.audit.append(actor=actor.name, action="user.revoke", subject=f"user:{name}")
    return user


def resolve_actor(
    users: UserRepo, api_key: str | None, *, embedded: bool, break_glass: str | None = None
) -> Actor:
    """Who is acting: the owner of ``api_key``, or the local admin where that is safe.

    Without a key, the person at the keyboard acts as the local admin only while the project has
    no users yet (to create the first admin). Once it has users, acting without a key is refused,
    on SQLite as on PostgreSQL, so that unsetting ``KEEL_API_KEY`` cannot bypass four-eyes;
    the one way around is an explicit break-glass reason (``KEEL_BREAK_GLASS``), which the
    caller audits on every use (``Keel.acting``).
    """
    if api_key:
        user = users.by_key_hash(hash_api_key(api_key))
        if user is None or not user.active:
            raise Unauthenticated(  # as the control plane answers it: 401, exit code 8
                "the API key is unknown or revoked",
                hint="ask an admin for a key: keel users add NAME --role ROLE",
            )
        return Actor(user.name, user.role, "api-key")
    if users.count() == 0:
        return Actor(LOCAL_ADMIN, Role.ADMIN, "local")
    if break_glass and break_glass.strip():
        return Actor(LOCAL_ADMIN, Role.ADMIN, BREAK_GLASS)
    where = "this project" if embedded else "this project's shared database"
    raise Unauthenticated(
        f"{where} has users: set KEEL_API_KEY to act",
        hint="export KEEL_API_KEY=<your key>; in an emergency only, "
        "KEEL_BREAK_GLASS='<reason>' acts as the local admin and is audited",
    )


BREAK_GLASS = "break-glass"
"""How an actor that acts through ``KEEL_BREAK_GLASS`` is marked (``Actor.via``)."""
