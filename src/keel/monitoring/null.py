"""What the statistics look like when nothing changed: simulated chunks of the reference.

A stationary chunk of ``n`` rows and the reference of ``N`` rows are two samples of one
distribution. Both are drawn anew from the reference's own shares, so each simulated statistic
carries the noise of the chunk and of the reference (a chunk is never compared with a reference
that contains it, the bias that makes in-sample calibration alarm too often):

* histograms: multinomial counts of ``n`` and of ``N`` rows on the reference's cells, exact for
  small chunks and rare levels;
* grids: the gap between two empirical distribution functions is, to first order,
  ``sqrt(1/n + 1/N)`` times a Brownian bridge at the reference's cumulative shares, so one
  simulation per column (of the bridge) serves every chunk size.

``tail_quantile`` reads an alert level from the simulated values: the empirical 90th percentile,
then an exponential tail fitted to the values above it (peaks over threshold). An exponential
tail is at least as heavy as the tails of these statistics (chi-square-like or Gaussian), so the
level errs on the side of fewer alarms, and it is stable where an empirical 99.9th percentile of
2,000 draws is not.
"""

from __future__ import annotations

import numpy as np

from keel.monitoring._arrays import F64
from keel.monitoring.drift.spec import Grids, Histograms, shares

TAIL_FROM = 0.9


def simulated_histograms(
    cells: F64, rows: int, reference_rows: int, resamples: int, rng: np.random.Generator
) -> Histograms:
    """``resamples`` stationary (reference, chunk) count pairs: (resamples, columns, cells)."""
    p = shares(cells)
    size = (resamples, cells.shape[0])
    return Histograms(
        rng.multinomial(reference_rows, p, size=size).astype(np.float64),
        rng.multinomial(rows, p, size=size).astype(np.float64),
    )


def simulated_grids(counts: F64, widths: F64, resamples: int, rng: np.random.Generator) -> Grids:
    """Brownian bridges at each column's cumulative grid shares: the grid gap per unit of
    ``sqrt(1/n + 1/N)``, as (resamples, columns, edges) with a zero reference."""
    p = shares(counts)
    steps = rng.standard_normal((resamples, *p.shape)) * np.sqrt(p)
    walk = np.cumsum(steps, axis=-1)
    bridge = walk - np.cumsum(p, axis=-1) * walk[..., -1:]
    current = np.concatenate((np.zeros((*bridge.shape[:-1], 1)), bridge), axis=-1)
    return Grids(np.zeros_like(current), current, widths, np.zeros(current.shape[:-1]))


def tail_quantile(draws: F64, alpha: F64) -> F64:
    """Per column, the level that a share ``alpha`` of stationary draws would exceed.

    ``draws`` is (resamples, columns), ``alpha`` (columns,); NaN draws are ignored.
    """
    level = np.nanquantile(draws, TAIL_FROM, axis=0)
    above = np.where(draws > level, draws - level, np.nan)
    counted = np.sum(~np.isnan(above), axis=0)
    mean_excess = np.where(counted > 0, np.nansum(above, axis=0) / np.maximum(counted, 1), 0.0)
    tail = level + mean_excess * np.log((1.0 - TAIL_FROM) / np.minimum(alpha, 1.0 - TAIL_FROM))
    plain = np.array([np.nanquantile(draws[:, i], 1.0 - a) for i, a in enumerate(alpha)]).reshape(
        alpha.shape
    )
    result: F64 = np.where(alpha < 1.0 - TAIL_FROM, tail, plain)
    return result
