"""Score ranges as written in ``decisions.thresholds``: ``< 0.20``, ``0.20..0.45``, ``>= 0.45``.

``a..b`` reads "from a up to b": it takes ``a`` and leaves ``b`` to the next range, so that
``< 0.20``, ``0.20..0.45`` and ``>= 0.45`` meet without a gap or an overlap. A range that ends
at 1 takes 1 itself (``0.45..1`` is ``>= 0.45``), since no score lies above it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from keel.errors import ConfigError

_COMPARISON = re.compile(r"^\s*(<=|<|>=|>)\s*([0-9.eE+-]+)\s*$")
_SPAN = re.compile(r"^\s*([0-9.eE+-]+)\s*\.\.\s*([0-9.eE+-]+)\s*$")
_FORMS = "'< 0.20', '<= 0.20', '0.20..0.45', '> 0.45' or '>= 0.45'"


@dataclass(frozen=True)
class ScoreRange:
    """An interval of [0, 1] with each end open or closed."""

    low: float
    high: float
    low_closed: bool
    high_closed: bool
    text: str

    def __contains__(self, score: float) -> bool:
        above = score >= self.low if self.low_closed else score > self.low
        below = score <= self.high if self.high_closed else score < self.high
        return above and below

    def __str__(self) -> str:
        return self.text


def parse_range(text: object, *, path: str) -> ScoreRange:
    """Read one range; a malformed one raises ``ConfigError`` naming ``path``."""
    if not isinstance(text, str):
        raise _refuse(path, text, "a range in quotes")
    comparison = _COMPARISON.match(text)
    if comparison is not None:
        operator, bound = comparison.group(1), _bound(comparison.group(2), text, path)
        return _comparison(operator, bound, text.strip())
    span = _SPAN.match(text)
    if span is None:
        raise _refuse(path, text, f"a range like {_FORMS}")
    low, high = _bound(span.group(1), text, path), _bound(span.group(2), text, path)
    if low >= high:
        raise _refuse(path, text, "a range whose lower end is below its upper end")
    return ScoreRange(low, high, low_closed=True, high_closed=high == 1.0, text=text.strip())


def _comparison(operator: str, bound: float, text: str) -> ScoreRange:
    if operator.startswith("<"):
        return ScoreRange(0.0, bound, True, operator == "<=", text)
    return ScoreRange(bound, 1.0, operator == ">=", True, text)


def _bound(number: str, text: str, path: str) -> float:
    try:
        value = float(number)
    except ValueError:
        raise _refuse(path, text, f"a range like {_FORMS}") from None
    if not 0.0 <= value <= 1.0:
        raise _refuse(path, text, "bounds between 0 and 1 (scores are probabilities)")
    return value


def _refuse(path: str, text: object, expected: str) -> ConfigError:
    return ConfigError(
        f"{path} must be {expected}; got {text!r}.",
        path=path,
        hint=f"Write each action's scores as {_FORMS}.",
    )
