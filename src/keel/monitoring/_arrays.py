"""Array types and the one conversion every statistic needs: a frame column as sorted floats."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SortedValues:
    """A numeric column's finite values in ascending order, and how many rows had none.

    Sorting once gives every count a drift statistic needs by binary search on the bin edges,
    which is several times faster than searching each value among the edges. Polars sorts a
    million floats in about 27 ms on two cores, numpy in about 80 ms on one.
    """

    values: F64
    missing: int

    @property
    def present(self) -> int:
        """Rows with a finite value."""
        return int(self.values.size)


def sorted_values(series: pl.Series) -> SortedValues:
    """``series`` as floats, sorted; null, NaN and infinite values count as missing.

    Text that does not parse as a number counts as missing too: the quality checks report it.
    """
    if series.dtype.is_numeric() or series.dtype == pl.Boolean:
        floats = series.cast(pl.Float64)
    else:
        floats = series.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    # NaN sorts after +inf and nulls after NaN, arriving as NaN: numpy's order, NaN last
    array = floats.sort(nulls_last=True).to_numpy()
    low = int(np.searchsorted(array, -np.inf, side="right"))
    high = int(np.searchsorted(array, np.inf, side="left"))
    return SortedValues(array[low:high], int(array.size - (high - low)))


def text_values(series: pl.Series) -> pl.Series:
    """A categorical column as text (booleans as ``true``/``false``), nulls kept."""
    if series.dtype == pl.Boolean:
        return series.cast(pl.String).str.to_lowercase()
    return series.cast(pl.String)


def midranks(values: F64) -> F64:
    """1-based ranks, ties sharing their average rank (``scipy.stats.rankdata``'s default)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return np.asarray((ends - (counts - 1) / 2.0)[inverse], dtype=np.float64)
