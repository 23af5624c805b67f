"""Normalized Wasserstein (earth mover's) distance, in reference standard deviations.

``W1 = integral |F_c(x) - F_r(x)| dx / sd_r``, read on the reference's percentile grid: each grid
bin contributes its width times the gap of the cumulative shares below its upper edge (exact
when a discrete column's values sit on the edges, within one bin's width otherwise), and values
beyond the grid contribute their exact mean distance from it. Evidently's ``wasserstein``
normalizes the same way.

Use it for numeric columns when the size of a move matters, not only its existence: a unit
change (income in thousands) or a shift of a few standard deviations scores in proportion, where
KS saturates at 1. Its conventional fixed level is 0.1 standard deviations.
"""

from __future__ import annotations

import numpy as np

from keel.monitoring._arrays import F64
from keel.monitoring.drift.spec import Grids, Statistic


def wasserstein(view: Grids) -> F64:
    """The normalized distance over the last axis."""
    gaps = np.abs(view.current[..., 1:-1] - view.reference[..., 1:-1])
    result: F64 = (gaps * view.widths).sum(axis=-1) + view.excess
    return result


STATISTIC = Statistic(
    "wasserstein", "grid", frozenset({"numeric"}), fixed=lambda n, m, bins: 0.1, grid=wasserstein
)
