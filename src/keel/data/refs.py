"""How people write a dataset version on a command line or in a request: ``v7`` or ``7``."""

from __future__ import annotations

from keel.errors import InvalidInput


def parse_version(text: str) -> int:
    """'v7' or '7' -> 7; anything else is refused with the form it should take."""
    digits = text[1:] if text.lower().startswith("v") else text
    if not digits.isdigit() or int(digits) < 1:
        raise InvalidInput(f"a version is written v1, v2, …; got {text!r}", path="version")
    return int(digits)
