"""Pearson's chi-square statistic of the 2 x bins table of reference and current counts.

``X2 = sum_{g, b} (O_gb - E_gb)^2 / E_gb`` with ``E_gb = n_g * (r_b + c_b) / (n_r + n_c)``, bins
empty on both sides left out: ``scipy.stats.chi2_contingency(table, correction=False)``'s
statistic. Under no drift it follows chi-square with (non-empty bins - 1) degrees of freedom.

Use it for categorical columns. Its classical test (p < 0.05, the fixed threshold here) alarms
on 5% of stationary chunks by design and on any trivial difference once chunks are large; the
calibrated threshold instead keeps the family-wide false-alarm rate at the configured level.
"""

from __future__ import annotations

import numpy as np

from keel.monitoring._arrays import F64
from keel.monitoring.drift.spec import Histograms, Statistic


def chi_square(view: Histograms) -> F64:
    """The chi-square statistic over the last axis (counts, not shares)."""
    r, c = view.reference, view.current
    n_r = r.sum(axis=-1, keepdims=True)
    n_c = c.sum(axis=-1, keepdims=True)
    both = r + c
    total = n_r + n_c
    cells = np.zeros(np.broadcast_shapes(r.shape, c.shape), dtype=np.float64)
    for observed, rows in ((r, n_r), (c, n_c)):
        expected = rows * both / np.where(total > 0, total, 1.0)
        np.add(cells, (observed - expected) ** 2 / np.where(expected > 0, expected, 1.0), out=cells)
    result: F64 = cells.sum(axis=-1)
    return result


def classical(n: int, m: int, bins: int) -> float:
    """The 95% quantile of chi-square with ``bins - 1`` degrees of freedom."""
    from scipy.special import chdtri  # noqa: PLC0415 - SciPy loads when used, not at start-up

    return float(chdtri(max(bins - 1, 1), 0.05))


STATISTIC = Statistic(
    "chi2", "histogram", frozenset({"categorical"}), fixed=classical, histogram=chi_square
)
