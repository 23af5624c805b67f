"""Cursor pagination: ``?limit=N&cursor=C`` on every listing, ``next_cursor`` in the answer.

Keel's records are immutable and each listing has a stable order, so a cursor is the key of the
last item seen (opaque to clients: base64 of JSON). New records arriving at the head never shift
a page, and a cursor that names no item is refused with the field path ``query.cursor``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Query, Request

from keel.app.result import jsonable
from keel.errors import InvalidInput

T = TypeVar("T")
Cursor = Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_=-]+$")]
Limit = Annotated[int | None, Query(ge=1, description="page size (at most the server's max)")]


def page_limit(request: Request, limit: int | None) -> int:
    """The page size: the server's default, and never above its maximum."""
    settings = request.app.state.settings
    if limit is None:
        return int(settings.page_size)
    if limit > settings.max_page_size:
        raise InvalidInput(
            f"limit must be at most {settings.max_page_size}, got {limit}",
            path="query.limit",
            hint="follow next_cursor for the following pages",
        )
    return limit


def encode(key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode(cursor: str) -> Any:
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise InvalidInput("the cursor is not one this server gave", path="query.cursor") from None


def page(
    items: Sequence[T], key: Callable[[T], Any], *, limit: int, cursor: str | None
) -> dict[str, Any]:
    """One page of ``items`` (already in their listing order) after the item ``cursor`` names."""
    start = 0
    if cursor is not None:
        after = decode(cursor)
        keys = [jsonable(key(item)) for item in items]
        if after not in keys:
            raise InvalidInput("the cursor names no item of this listing", path="query.cursor")
        start = keys.index(after) + 1
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return {
        "items": [jsonable(item) for item in chunk],
        "next_cursor": encode(jsonable(key(chunk[-1]))) if more and chunk else None,
    }
