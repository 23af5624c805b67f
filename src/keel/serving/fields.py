"""One rule per request field, compiled from the contract: a fast test for a whole column of
values, and the reason a single value fails.

A request carries JSON, so a field's rule is about JSON values: ``int`` columns take integers (an
integral float such as ``35.0`` too, as the contract's lossless casts do), ``float`` columns any
finite number, ``bool`` columns ``true``/``false``, ``category`` and ``string`` columns text,
``datetime`` columns ISO 8601 text. Booleans are never numbers here, although Python says they are.

``accepts`` answers for all values of a column at once with set and comparison operations that
run in C (NumPy for long columns); only when it says no is ``reason`` asked about each value.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import numpy as np

from keel.data.contract import ColumnSpec, ColumnType


class Absent:
    """The value of a field a record does not carry."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Final = Absent()
VECTOR_ROWS = 32
"""From this many values on, range tests run in NumPy; below it, a Python loop is cheaper."""
_FLOAT_MAX = sys.float_info.max
_INT_MAX = 2**63 - 1
_NUMBER_TYPES = frozenset({int, float})
_MISSING_TYPES = frozenset({type(None), Absent})


@dataclass(frozen=True)
class Field:
    """What one field of a record may hold."""

    name: str
    kind: str
    """``number``, ``integer``, ``boolean``, ``string``, ``category``, ``datetime`` or ``id``."""
    required: bool
    """Absent is an error (else absent reads as null)."""
    nullable: bool
    """Null (and, unless required, absent) passes."""
    low: float = -_FLOAT_MAX
    high: float = _FLOAT_MAX
    allowed: frozenset[str] | None = None
    shown: str = ""
    """The allowed values as the reason lists them."""
    pattern: re.Pattern[str] | None = None
    types: frozenset[type] = field(default=frozenset())

    def accepts(self, values: Sequence[object]) -> bool:
        """True if every value passes (False means: ask ``reason`` value by value)."""
        types = set(map(type, values))
        if types & _MISSING_TYPES:
            if not self.nullable:
                return False
            types -= _MISSING_TYPES
            values = [v for v in values if v is not None and v is not ABSENT]
        if not types <= self.types:
            return False
        return _CHECKS[self.kind](self, values)

    def reason(self, value: object) -> str | None:
        """Why one value fails, or None if it passes."""
        if value is ABSENT:
            return "required" if self.required else None
        if value is None:
            return None if self.nullable else "must not be null"
        return _REASONS[self.kind](self, value)


def compile_field(name: str, spec: ColumnSpec, *, required: bool) -> Field:
    """The rule for a contract column; ``required`` is False for columns a request may omit."""
    kind = _KINDS[spec.type]
    numeric = kind in ("number", "integer")
    bound = _INT_MAX if kind == "integer" else _FLOAT_MAX
    allowed = frozenset(spec.values) if spec.values is not None else None
    return Field(
        name=name,
        kind=kind,
        required=required and not spec.nullable,
        nullable=spec.nullable or not required,
        low=max(spec.min, -bound) if numeric and spec.min is not None else -bound,
        high=min(spec.max, bound) if numeric and spec.max is not None else bound,
        allowed=allowed,
        shown=_listed(spec.values or ()),
        pattern=re.compile(spec.regex) if spec.regex else None,
        types=_TYPES[kind],
    )


def id_field(name: str) -> Field:
    """The rule for an entity id the contract does not declare: non-empty text or an integer."""
    return Field(name=name, kind="id", required=True, nullable=False, types=_TYPES["id"])


def show(value: object) -> str:
    """A value as a reason quotes it: JSON words for JSON types, long text cut short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value) if isinstance(value, int | float) else type(value).__name__


def _listed(values: Sequence[str]) -> str:
    head = ", ".join(values[:12])
    more = f", and {len(values) - 12} more" if len(values) > 12 else ""
    return f"[{head}{more}]"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


# --- whole-column tests (types already checked) ------------------------------------------------


def _in_range(rule: Field, values: Sequence[Any]) -> bool:
    if len(values) < VECTOR_ROWS:
        low, high = rule.low, rule.high
        return all(low <= v <= high for v in values)
    try:
        array = np.array(values, dtype=np.float64)
    except OverflowError:
        return False
    return bool(((array >= rule.low) & (array <= rule.high)).all())


def _integers(rule: Field, values: Sequence[Any]) -> bool:
    integral = all(type(v) is int or v.is_integer() for v in values)
    return integral and _in_range(rule, values)


def _texts(rule: Field, values: Sequence[Any]) -> bool:
    if rule.allowed is not None and not rule.allowed.issuperset(values):
        return False
    match = rule.pattern.search if rule.pattern is not None else None
    return match is None or all(match(v) for v in values)


def _times(rule: Field, values: Sequence[Any]) -> bool:
    del rule
    return all(_parses(v) for v in values)


def _ids(rule: Field, values: Sequence[Any]) -> bool:
    del rule
    return all(v != "" for v in values)


def _always(rule: Field, values: Sequence[Any]) -> bool:
    del rule, values
    return True


_CHECKS: dict[str, Callable[[Field, Sequence[Any]], bool]] = {
    "number": _in_range,
    "integer": _integers,
    "boolean": _always,
    "string": _texts,
    "category": _texts,
    "datetime": _times,
    "id": _ids,
}


# --- one value's reason ---------------------------------------------------------------------------


def _number_reason(rule: Field, value: object) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return f"expected number, got {show(value)}"
    try:
        number = float(value)
    except OverflowError:
        return "not a finite number"
    if not math.isfinite(number):
        return "not a finite number"
    return _range_reason(rule, value)


def _integer_reason(rule: Field, value: object) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return f"expected integer, got {show(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number"
    if isinstance(value, float) and not value.is_integer():
        return f"expected integer, got {show(value)}"
    return _range_reason(rule, value)


def _range_reason(rule: Field, value: float) -> str | None:
    if value < rule.low:
        return f"below minimum {_number_text(rule.low)}"
    if value > rule.high:
        return f"above maximum {_number_text(rule.high)}"
    return None


def _boolean_reason(rule: Field, value: object) -> str | None:
    del rule
    return None if isinstance(value, bool) else f"expected true or false, got {show(value)}"


def _text_reason(rule: Field, value: object) -> str | None:
    if not isinstance(value, str):
        return f"expected string, got {show(value)}"
    if rule.allowed is not None and value not in rule.allowed:
        return f"not one of {rule.shown}"
    if rule.pattern is not None and not rule.pattern.search(value):
        return f"does not match {rule.pattern.pattern!r}"
    return None


def _time_reason(rule: Field, value: object) -> str | None:
    del rule
    if isinstance(value, str) and _parses(value):
        return None
    return f"expected an ISO 8601 date-time, got {show(value)}"


def _id_reason(rule: Field, value: object) -> str | None:
    del rule
    if isinstance(value, bool) or not isinstance(value, str | int):
        return f"expected string or integer, got {show(value)}"
    return "must not be empty" if value == "" else None


def _parses(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


_REASONS: dict[str, Callable[[Field, object], str | None]] = {
    "number": _number_reason,
    "integer": _integer_reason,
    "boolean": _boolean_reason,
    "string": _text_reason,
    "category": _text_reason,
    "datetime": _time_reason,
    "id": _id_reason,
}
_KINDS = {
    ColumnType.FLOAT: "number",
    ColumnType.INT: "integer",
    ColumnType.BOOL: "boolean",
    ColumnType.STRING: "string",
    ColumnType.CATEGORY: "category",
    ColumnType.DATETIME: "datetime",
}
_TYPES = {
    "number": _NUMBER_TYPES,
    "integer": _NUMBER_TYPES,
    "boolean": frozenset({bool}),
    "string": frozenset({str}),
    "category": frozenset({str}),
    "datetime": frozenset({str}),
    "id": frozenset({str, int}),
}
