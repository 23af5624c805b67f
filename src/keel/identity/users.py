"""Users of a Keel project."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keel.identity.roles import Role


@dataclass(frozen=True)
class User:
    """A named principal with one role; only the hash of its API key is ever stored."""

    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role.value,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }
