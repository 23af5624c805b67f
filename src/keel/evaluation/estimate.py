"""A metric's value with its confidence interval: what evaluation hands to gates and cards."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

IntervalMethod = Literal["bootstrap", "bin-bootstrap", "delong", "delta", "none"]
"""How an interval was made (see ``intervals``): ``bootstrap``, the percentile bootstrap over
rows; ``bin-bootstrap``, the percentile bootstrap over per-bin sums (ECE on large sets);
``delong``, the normal interval with DeLong's standard error (ROC AUC on large sets); ``delta``,
the normal interval with the delta-method standard error (other metrics on large sets); ``none``,
no interval was asked for."""


@dataclass(frozen=True)
class Estimate:
    """``value`` on all rows and the interval ``[low, high]``, made by ``method``.

    ``resamples`` counts the bootstrap resamples on which the metric was defined (a resample can
    miss a rare class); ``low`` and ``high`` are None when there were none, e.g. with
    ``resamples=0``. A normal interval (``delong``, ``delta``) uses no resample: 0.
    """

    value: float
    low: float | None
    high: float | None
    n: int
    resamples: int = 0
    method: IntervalMethod = "bootstrap"

    def to_dict(self) -> dict[str, float | int | str | None]:
        """A JSON-ready dict."""
        return asdict(self)
