"""The persistence ports for users and their browser sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from keel.identity.sessions import Session
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


class SessionRepo(Protocol):
    """Browser sessions, keyed by the hash of their token (never the token itself)."""

    def add(self, session: Session, token_hash: str) -> None:
        """Insert a session; a token hash is unique (a clash raises ``Conflict``)."""
        ...

    def get(self, token_hash: str) -> Session | None:
        """The session with this token hash, ended or expired ones included, or None."""
        ...

    def end(self, token_hash: str, at: datetime) -> None:
        """Mark the session ended (logout); ending an ended or unknown session does nothing."""
        ...
