"""``ThresholdPolicy``: score -> action, by ranges that tile [0, 1] exactly.

Validated once at load: the ranges must cover every score from 0 to 1, each score by exactly one
range, or the error names the two entries that leave a gap or overlap (or the entry at an end).
Deciding is then a walk over a handful of boundaries, with a NumPy form for many scores.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from keel.decisions.ranges import ScoreRange, parse_range
from keel.errors import ConfigError, InvalidInput

PATH = "decisions.thresholds"
F64 = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]


@dataclass(frozen=True)
class ThresholdPolicy:
    """Actions in score order, and the boundaries between them.

    ``boundaries[i]`` separates ``actions[i]`` from ``actions[i + 1]``; ``upper[i]`` says whether
    a score equal to it belongs to the upper action.
    """

    actions: tuple[str, ...]
    ranges: tuple[ScoreRange, ...]
    boundaries: tuple[float, ...]
    upper: tuple[bool, ...]

    @classmethod
    def parse(cls, thresholds: object) -> ThresholdPolicy:
        """Validate a ``thresholds:`` mapping of action -> range; see the module docstring."""
        if not isinstance(thresholds, Mapping) or not thresholds:
            raise ConfigError(
                f"{PATH} must map each action to a score range; got {thresholds!r}.",
                path=PATH,
                hint="For example {approve: '< 0.20', review: '0.20..0.45', decline: '>= 0.45'}.",
            )
        named = [
            (_action(name), parse_range(text, path=f"{PATH}.{name}"))
            for name, text in thresholds.items()
        ]
        named.sort(key=lambda item: (item[1].low, not item[1].low_closed))
        _check_tiling(named)
        return cls(
            actions=tuple(name for name, _ in named),
            ranges=tuple(found for _, found in named),
            boundaries=tuple(found.low for _, found in named[1:]),
            upper=tuple(found.low_closed for _, found in named[1:]),
        )

    def decide(self, score: float) -> str:
        """The action for one score in [0, 1]; anything else raises ``InvalidInput``."""
        if not 0.0 <= score <= 1.0:
            raise _outside(score)
        index = 0
        for boundary, upper in zip(self.boundaries, self.upper, strict=True):
            if score > boundary or (upper and score == boundary):
                index += 1
        return self.actions[index]

    def indices(self, scores: F64) -> Index:
        """Each score's position in ``actions``, for many scores at once."""
        outside = ~((scores >= 0.0) & (scores <= 1.0))
        if outside.any():
            raise _outside(float(scores[np.argmax(outside)]))
        index = np.zeros(scores.shape, dtype=np.intp)
        for boundary, upper in zip(self.boundaries, self.upper, strict=True):
            index += (scores >= boundary) if upper else (scores > boundary)
        return index


def _action(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{PATH}: action names must be non-empty text; got {name!r}.", path=PATH)
    if name == "defer":
        raise ConfigError(
            f"{PATH}.defer: 'defer' is the decision of the fallback chain, not a score range.",
            path=f"{PATH}.defer",
            hint="Name the action differently, e.g. 'review'.",
        )
    return name


def _check_tiling(named: list[tuple[str, ScoreRange]]) -> None:
    """Raise ``ConfigError`` unless the sorted ranges cover [0, 1] once each."""
    first_name, first = named[0]
    if first.low > 0.0 or not first.low_closed:
        raise _gap(f"scores from 0 up to {first.low:g}", first_name, first, None)
    for (name, found), (next_name, following) in itertools.pairwise(named):
        _check_meeting(name, found, next_name, following)
    last_name, last = named[-1]
    if last.high < 1.0 or not last.high_closed:
        raise _gap(f"scores from {last.high:g} up to 1", last_name, last, None)


def _check_meeting(name: str, found: ScoreRange, next_name: str, following: ScoreRange) -> None:
    both = f"'{name}' ({found}) and '{next_name}' ({following})"
    path = f"{PATH}.{next_name}"
    if found.high > following.low or (
        found.high == following.low and found.high_closed and following.low_closed
    ):
        top = min(found.high, following.high)
        raise ConfigError(
            f"{PATH}: {both} overlap on scores from {following.low:g} to {top:g};"
            " each score must have exactly one action.",
            path=path,
            hint="Make each range start where the one below it ends (a..b leaves b to the next).",
        )
    if found.high < following.low or not (found.high_closed or following.low_closed):
        between = (
            f"score {found.high:g}"
            if math.isclose(found.high, following.low)
            else f"scores from {found.high:g} to {following.low:g}"
        )
        raise _gap(between, name, found, (next_name, following))


def _gap(
    between: str, name: str, found: ScoreRange, other: tuple[str, ScoreRange] | None
) -> ConfigError:
    entries = f"'{name}' ({found})" + (f" and '{other[0]}' ({other[1]})" if other else "")
    return ConfigError(
        f"{PATH}: no action covers {between} (see {entries}); the ranges must cover 0 to 1.",
        path=f"{PATH}.{other[0] if other else name}",
        hint="Make each range start where the one below it ends, from 0 up to 1.",
    )


def _outside(score: float) -> InvalidInput:
    return InvalidInput(
        f"a score must be a probability from 0 to 1 to be decided; got {score!r}.",
        path="score",
        hint="Threshold decisions apply to calibrated probabilities.",
    )
