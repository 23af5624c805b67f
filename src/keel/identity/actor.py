"""The actor: who is performing the current verb, and whether the role allows it."""

from __future__ import annotations

from dataclasses import dataclass

from keel.errors import PermissionDenied
from keel.identity.roles import Role

LOCAL_ADMIN = "local-admin"


@dataclass(frozen=True)
class Actor:
    """The principal behind an action; ``via`` says how it was established."""

    name: str
    role: Role
    via: str  # "api-key" or "local"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role.value, "via": self.via}


def require_role(actor: Actor, needed: Role, *, action: str) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` may perform ``action``."""
    if not actor.role.allows(needed):
        raise PermissionDenied(
            f"{action} needs the {needed.value} role; {actor.name} is {actor.role.value}",
            hint="ask an admin to run it, or act with a key of a user who has that role",
            actor=actor.name,
        )
