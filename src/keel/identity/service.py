"""User management verbs; each one is audited in the same transaction as its change."""

from __future__ import annotations

from typing import Protocol

from keel.audit.ports import AuditLog
from keel.errors import PermissionDenied
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


def resolve_actor(users: UserRepo, api_key: str | None, *, embedded: bool) -> Actor:
    """Who is acting: the owner of ``api_key``, or the local admin where that is safe.

    Without a key, a person at the keyboard of an embedded (SQLite) project, or of a shared
    database that has no users yet (to create the first admin), acts as the local admin.
    """
    if api_key:
        user = users.by_key_hash(hash_api_key(api_key))
        if user is None or not user.active:
            raise PermissionDenied(
                "the API key in KEEL_API_KEY is unknown or revoked",
                hint="ask an admin for a new key with 'keel users add NAME --role ROLE'",
            )
        return Actor(user.name, user.role, "api-key")
    if embedded or users.count() == 0:
        return Actor(LOCAL_ADMIN, Role.ADMIN, "local")
    raise PermissionDenied(
        "this project's database is shared and has users: set KEEL_API_KEY to act",
        hint="export KEEL_API_KEY=<your key>",
    )
