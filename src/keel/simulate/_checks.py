"""Argument checks shared by the simulator; each raises ``InvalidInput`` naming the argument."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from keel.errors import InvalidInput

_EPOCH = datetime(1970, 1, 1)


def check_count(name: str, value: object, *, minimum: int) -> int:
    """A whole number of at least ``minimum`` (bools are refused: ``True`` is not a row count)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"'{name}' must be an integer >= {minimum}; got {value!r}", path=name)
    return value


def _as_number(value: object) -> float | None:
    """``value`` as a float, or None unless it is a finite int or float (bools excluded)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def check_fraction(name: str, value: object) -> float:
    """A finite number in [0, 1]."""
    number = _as_number(value)
    if number is None or not 0.0 <= number <= 1.0:
        raise InvalidInput(f"'{name}' must be a number in [0, 1]; got {value!r}", path=name)
    return number


def check_finite(name: str, value: object, *, positive: bool = False) -> float:
    """A finite number, strictly positive when ``positive``."""
    number = _as_number(value)
    if number is None or (positive and number <= 0.0):
        allowed = "a finite number > 0" if positive else "a finite number"
        raise InvalidInput(f"'{name}' must be {allowed}; got {value!r}", path=name)
    return number


def naive_utc(name: str, value: object) -> datetime:
    """A datetime as naive UTC: aware values are converted, naive ones are taken as UTC."""
    if not isinstance(value, datetime):
        raise InvalidInput(f"'{name}' must be a datetime; got {value!r}", path=name)
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch of a naive UTC datetime (exact, no float rounding)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def to_micros_delta(delta: timedelta) -> int:
    """Whole microseconds in a timedelta."""
    return delta // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    """The naive UTC datetime ``micros`` microseconds after the epoch."""
    return _EPOCH + timedelta(microseconds=micros)


def check_window(start: object, end: object) -> tuple[datetime, datetime]:
    """``start`` and ``end`` as naive UTC datetimes with ``start < end``."""
    first, last = naive_utc("start", start), naive_utc("end", end)
    if first >= last:
        raise InvalidInput(
            f"'end' must be after 'start'; got start={first.isoformat()}, end={last.isoformat()}",
            path="end",
        )
    return first, last
