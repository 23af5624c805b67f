"""Kolmogorov-Smirnov distance on the reference's percentile grid.

``KS = max_k |F_c(e_k) - F_r(e_k)|``: the largest gap between the current and reference
cumulative shares of finite values at the grid edges ``e_k`` (values below each edge, and at or
below the last). It differs from the two-sample KS of the raw values by at most the
reference share of one grid bin (1% with the default 100 bins): the price of comparing with a
stored profile instead of the raw reference rows.

Use it for numeric columns: it is distribution-free and sees any change of shape, location or
scale. Its fixed threshold is the classical test at p < 0.05, ``1.358 sqrt(1/n + 1/N)``.
"""

from __future__ import annotations

import math

import numpy as np

from keel.monitoring._arrays import F64
from keel.monitoring.drift.spec import Grids, Statistic

CRITICAL_05 = 1.3581
"""The Kolmogorov distribution's 95% quantile."""


def kolmogorov_smirnov(view: Grids) -> F64:
    """The largest cumulative gap over the last axis."""
    result: F64 = np.abs(view.current - view.reference).max(axis=-1)
    return result


def classical(n: int, m: int, bins: int) -> float:
    """The two-sample test's critical distance at p < 0.05 (asymptotic)."""
    return CRITICAL_05 * math.sqrt(1.0 / max(n, 1) + 1.0 / max(m, 1))


STATISTIC = Statistic(
    "ks", "grid", frozenset({"numeric"}), fixed=classical, grid=kolmogorov_smirnov
)
