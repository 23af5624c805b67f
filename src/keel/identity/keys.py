"""API keys: random, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "keel_"


def new_api_key() -> str:
    """A fresh key with 256 bits of entropy; callers must show it once and keep only its hash."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """The stored form of a key.

    A plain sha256 suffices (no salt or stretching) because keys are long random tokens, not
    passwords a person chose.
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
