"""Reading request bodies: JSON objects parsed by orjson, and why a body is refused.

A body that is not strict JSON is refused with the field path of the culprit where there is
one (a ``NaN`` or an infinity, which JSON has no spelling for), else where parsing stopped.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

from keel.errors import InvalidInput
from keel.serving.fields import show

MAX_EXPLAIN = 20


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; anything else is an ``InvalidInput`` naming the problem."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise _decode_problem(raw, error) from None
    if not isinstance(body, dict):
        raise InvalidInput(f"expected a JSON object, got {show(body)}", path="body")
    return body


def only(body: dict[str, Any], *fields: str) -> None:
    """Refuse a field the route does not know (a typo must not be ignored silently)."""
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", path=unknown[0])


def explain_count(value: object) -> int:
    """How many top contributions a request asks for (0 to ``MAX_EXPLAIN``)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EXPLAIN:
        raise InvalidInput(f"expected an integer from 0 to {MAX_EXPLAIN}", path="explain")
    return value


class _NonFinite(float):
    """A NaN or infinite number as the lenient parser read it, kept to name its path."""

    text: str


def _decode_problem(raw: bytes, error: orjson.JSONDecodeError) -> InvalidInput:
    """Why a body is not JSON: the path of a NaN or infinity, else where parsing stopped.

    Only on the error path: orjson (strict JSON) refused the body; the standard library's
    lenient parser reads ``NaN``, ``Infinity`` and overflowing numbers, so their field is named.
    """
    try:
        lenient = json.loads(raw, parse_constant=_non_finite, parse_float=_float)
    except (ValueError, RecursionError):
        return InvalidInput(f"malformed JSON: {error}", path="body")
    found = _first_non_finite(lenient, "")
    if found is None:
        return InvalidInput(f"malformed JSON: {error}", path="body")
    path, value = found
    return InvalidInput(
        f"{value.text} is not a finite number; JSON has none: send null for a missing value",
        path=path or "body",
    )


def _non_finite(text: str) -> _NonFinite:
    value = _NonFinite(text)
    value.text = text
    return value


def _float(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else _non_finite(text)


def _first_non_finite(value: object, path: str) -> tuple[str, _NonFinite] | None:
    if isinstance(value, _NonFinite):
        return path, value
    if isinstance(value, dict):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        found = _first_non_finite(item, where)
        if found is not None:
            return found
    return None
