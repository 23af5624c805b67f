"""Browser sessions: a random token in an HttpOnly cookie, only its hash stored server-side.

A session belongs to one user and ends at ``expires_at`` or when the user logs out
(``ended_at``); from then on the cookie is refused even if someone copied it. Each request
re-reads the user, so revoking a user's key ends its sessions too.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

SESSION_PREFIX = "keels_"


@dataclass(frozen=True)
class Session:
    """One login: who, when it started, when it expires, and when it was ended (logout)."""

    user: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        """True while the session may still be used."""
        return self.ended_at is None and now < self.expires_at


def new_session_token() -> str:
    """A fresh token with 256 bits of entropy; only its hash is stored."""
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a session token (long and random: a plain sha256 suffices)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(token: str) -> str:
    """The CSRF token of a session: derived from the session token, so nothing more is stored,
    and unknowable to a page that cannot read the HttpOnly cookie."""
    return hashlib.sha256(f"csrf:{token}".encode()).hexdigest()[:32]
