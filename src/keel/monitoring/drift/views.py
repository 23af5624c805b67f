"""From a reference column and a chunk's counts to the two views the statistics read.

A numeric column's histogram has the reference's coarse bins plus three cells: below the
reference's minimum, above its maximum, and missing; the reference itself is empty below and
above by construction. A categorical column's has its reference levels plus "unseen" and
"missing". Missing rows are a cell of the histogram, so a jump in missingness moves PSI,
Jensen-Shannon and chi-square; the grid statistics (KS, Wasserstein) read finite values only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keel.monitoring._arrays import F64, I64
from keel.monitoring.drift.spec import Grids, Histograms
from keel.monitoring.reference import ColumnReference, NumericReference
from keel.monitoring.summary import CategoricalCounts, ColumnCounts, NumericCounts


def coarse_counts(counts: I64, coarse: I64) -> F64:
    """Grid-bin counts summed into the coarse bins."""
    if counts.size == 0:
        return np.zeros(0)
    return np.add.reduceat(counts, coarse[:-1]).astype(np.float64)


def reference_histogram(reference: ColumnReference) -> F64:
    """The reference's histogram cells (see the module docstring)."""
    if isinstance(reference, NumericReference):
        inner = coarse_counts(reference.counts, reference.coarse)
        return np.concatenate(([0.0], inner, [0.0, reference.missing]))
    return np.concatenate((reference.counts.astype(np.float64), [0.0, reference.missing]))


def current_histogram(reference: ColumnReference, counts: ColumnCounts) -> F64:
    """The chunk's histogram cells, on the reference's bins."""
    if isinstance(reference, NumericReference) and isinstance(counts, NumericCounts):
        inner = coarse_counts(counts.counts, reference.coarse)
        return np.concatenate(([counts.below], inner, [counts.above, counts.missing]))
    assert isinstance(counts, CategoricalCounts)
    cells = (counts.unseen_total, counts.missing)
    return np.concatenate((counts.counts.astype(np.float64), cells))


def reference_cdf(reference: NumericReference) -> F64:
    """Cumulative share of the reference's finite values below each grid edge."""
    cumulative = np.concatenate(([0], np.cumsum(reference.counts))).astype(np.float64)
    return cumulative / max(reference.present, 1)


def current_cdf(counts: NumericCounts) -> F64:
    """Cumulative share of the chunk's finite values below each grid edge (NaN if none)."""
    cumulative = counts.below + np.concatenate(([0], np.cumsum(counts.counts)))
    if counts.present == 0:
        return np.full(cumulative.size, np.nan)
    return cumulative.astype(np.float64) / counts.present


def widths(reference: NumericReference) -> F64:
    """Grid bin widths in reference standard deviations."""
    return np.diff(reference.edges) / reference.scale


def excess(reference: NumericReference, counts: NumericCounts) -> float:
    """Mean distance of the chunk's finite values beyond the grid, in standard deviations."""
    if counts.present == 0:
        return float("nan")
    total = counts.excess_below + counts.excess_above
    return total / counts.present / reference.scale


def stack(rows: Sequence[F64], *, edge: bool = False) -> F64:
    """Rows of unequal length as one (rows, longest) array: padded with zeros, or with each
    row's last value (``edge``), so that padding changes no statistic."""
    width = max((row.size for row in rows), default=0)
    out = np.zeros((len(rows), width), dtype=np.float64)
    for i, row in enumerate(rows):
        out[i, : row.size] = row
        if edge and row.size:
            out[i, row.size :] = row[-1]
    return out


def histograms(references: Sequence[ColumnReference], counts: Sequence[ColumnCounts]) -> Histograms:
    """Both histograms of every column, stacked."""
    return Histograms(
        stack([reference_histogram(r) for r in references]),
        stack([current_histogram(r, c) for r, c in zip(references, counts, strict=True)]),
    )


def grids(references: Sequence[NumericReference], counts: Sequence[NumericCounts]) -> Grids:
    """Both grids of every numeric column, stacked."""
    pairs = list(zip(references, counts, strict=True))
    return Grids(
        stack([reference_cdf(r) for r in references], edge=True),
        stack([current_cdf(c) for c in counts], edge=True),
        stack([widths(r) for r in references]),
        np.array([excess(r, c) for r, c in pairs]),
    )
