"""A metric's value with its bootstrap confidence interval: what evaluation hands to gates."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Estimate:
    """``value`` on all rows and the percentile interval ``[low, high]`` over resamples.

    ``resamples`` counts the resamples on which the metric was defined (a resample can miss a
    rare class); ``low`` and ``high`` are None when there were none, e.g. with ``resamples=0``.
    """

    value: float
    low: float | None
    high: float | None
    n: int
    resamples: int = 0

    def to_dict(self) -> dict[str, float | int | None]:
        """A JSON-ready dict."""
        return asdict(self)
