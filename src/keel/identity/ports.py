"""The persistence port for users."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from keel.identity.users import User


class UserRepo(Protocol):
    """Users and the hashes of their keys."""

    def add(self, user: User, key_hash: str) -> None:
        """Insert a user; raises ``Conflict`` if the name exists (revoked names stay taken)."""
        ...

    def get(self, name: str) -> User:
        """The user called ``name``; raises ``NotFound``."""
        ...

    def by_key_hash(self, key_hash: str) -> User | None:
        """The user holding the key with this hash, revoked or not, or None."""
        ...

    def all(self) -> list[User]:
        """Every user, by name."""
        ...

    def revoke(self, name: str, at: datetime) -> User:
        """Mark a user revoked so its key stops working; raises ``NotFound``."""
        ...

    def count(self) -> int:
        """How many users exist, revoked included."""
        ...
