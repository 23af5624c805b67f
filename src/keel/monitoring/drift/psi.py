"""Population stability index (PSI) on the reference's bins.

``PSI = sum_b (c_b - r_b) ln(c_b / r_b)`` over the shares ``r`` of the reference and ``c`` of the
current chunk in each bin, each share floored at ``1e-4`` so that a bin empty on one side (a new
category, values beyond the reference's range) adds a large but finite term, as Evidently does.
It is the symmetric Kullback-Leibler divergence of the two histograms.

Use it for a quick, bin-level view of any column; it grows with the share of rows that moved
between bins, whatever the direction. Under no drift it is about ``(1/n + 1/N) chi2(bins - 1)``,
so a fixed level (0.1 is customary) is too strict for small chunks and too lax for large ones.
"""

from __future__ import annotations

import numpy as np

from keel.monitoring._arrays import F64
from keel.monitoring.drift.spec import Histograms, Statistic, shares

FLOOR = 1e-4


def psi(view: Histograms) -> F64:
    """PSI over the last axis."""
    r = np.maximum(shares(view.reference), FLOOR)
    c = np.maximum(shares(view.current), FLOOR)
    result: F64 = ((c - r) * np.log(c / r)).sum(axis=-1)
    return result


STATISTIC = Statistic(
    "psi",
    "histogram",
    frozenset({"numeric", "categorical"}),
    fixed=lambda n, m, bins: 0.1,
    histogram=psi,
)
