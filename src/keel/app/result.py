"""The base of every typed use-case result: a frozen dataclass that turns itself into JSON."""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import Enum
from pathlib import PurePath
from typing import Any


class Result:
    """Mixin for frozen dataclasses; ``to_dict`` is the JSON form every face prints or sends.

    Nested records with their own ``to_dict`` (the domain's types) are asked for theirs, so one
    object has one JSON form wherever it appears.
    """

    def to_dict(self) -> dict[str, Any]:
        if not dataclasses.is_dataclass(self):  # pragma: no cover - a definition defect
            raise TypeError(f"{type(self).__name__} must be a dataclass")
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


def jsonable(value: Any) -> Any:  # noqa: PLR0911 - one return per kind of value
    """``value`` with records, enums, paths and tuples turned into JSON-ready values.

    Dates stay dates: the JSON writers of the faces (orjson) write them as RFC 3339.
    """
    if value is None or isinstance(value, str | int | float | bool | date):
        return value
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value
