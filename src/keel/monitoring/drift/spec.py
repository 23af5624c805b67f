"""What a drift statistic is: a stable name and tag, the view it reads, one vectorized formula.

Two views of a column reach the statistics, each as arrays whose last axis is the bins and whose
leading axes are anything (columns, resamples or both), so one call scores every column of a chunk
or every simulated chunk of a calibration:

* ``Histograms``: reference and current counts on the same bins (a numeric column's coarse
  bins plus "below the reference", "above it" and "missing"; a categorical column's levels plus
  "unseen" and "missing"). PSI, Jensen-Shannon and chi-square read these.
* ``Grids``: the cumulative share of finite values below each grid edge (the reference's
  percentiles), then at or below the last edge; the grid's bin widths; and the current values'
  mean distance beyond the grid.
  Kolmogorov-Smirnov and Wasserstein read these.

Columns with fewer bins are padded: empty bins on both sides, or a repeated cumulative share with
a zero width, which changes no statistic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from keel.monitoring._arrays import F64
from keel.monitoring.reference import Kind

View = Literal["histogram", "grid"]


@dataclass(frozen=True, eq=False)
class Histograms:
    """Counts (or shares) on the same bins: ``reference`` and ``current``, shape (..., bins)."""

    reference: F64
    current: F64


@dataclass(frozen=True, eq=False)
class Grids:
    """Cumulative shares below each grid edge and at or below the last, (..., edges + 1);
    widths (..., edges - 1) and excess (...,) in units of the reference's standard deviation."""

    reference: F64
    current: F64
    widths: F64
    excess: F64


Fixed = Callable[[int, int, int], float]
"""``fixed(current_rows, reference_rows, bins) -> threshold``: the conventional alert level."""


@dataclass(frozen=True)
class Statistic:
    """A registered drift statistic; ``name`` is the key in configs and stored results."""

    name: str
    view: View
    kinds: frozenset[Kind]
    fixed: Fixed
    histogram: Callable[[Histograms], F64] | None = None
    grid: Callable[[Grids], F64] | None = None

    @property
    def tag(self) -> str:
        """The stable type tag, as a config or stored result names it."""
        return f"keel:drift:{self.name}"

    def compute(self, view: Histograms | Grids) -> F64:
        """The statistic on every leading index of ``view``."""
        if isinstance(view, Histograms) and self.histogram is not None:
            return self.histogram(view)
        if isinstance(view, Grids) and self.grid is not None:
            return self.grid(view)
        raise TypeError(f"{self.name} reads the {self.view} view")


def shares(counts: F64) -> F64:
    """Counts as shares of their total along the last axis (zeros where the total is zero)."""
    total = counts.sum(axis=-1, keepdims=True)
    out = np.zeros(counts.shape, dtype=np.float64)
    np.divide(counts, total, out=out, where=total > 0)
    return out
