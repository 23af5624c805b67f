"""Small shared value types used across packages."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from keel.errors import InvalidInput

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,62}$")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC; the one clock every record uses."""
    return datetime.now(UTC)


def check_name(value: str, *, field: str) -> str:
    """Return ``value`` if it is a safe identifier (users, projects, models), else raise.

    Names end up in paths, URLs and log lines, so they are restricted to lower-case letters,
    digits and ``_ . -``, starting with a letter, at most 63 characters.
    """
    if not NAME_PATTERN.fullmatch(value):
        raise InvalidInput(
            f"{field} must be 1-63 characters of a-z, 0-9, '_', '.', '-', starting with a letter;"
            f" got {value!r}",
            path=field,
        )
    return value
