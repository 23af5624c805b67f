"""A current chunk counted on the reference's grid and levels: everything drift needs from it.

Counting is the only pass over the chunk's rows; every statistic then works on these counts, so
the cost of a drift check is one sort per numeric column and one hash count per categorical one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from keel.errors import InvalidInput
from keel.monitoring._arrays import I64, sorted_values, text_values
from keel.monitoring.reference import (
    CategoricalReference,
    ColumnReference,
    NumericReference,
    ReferenceProfile,
    grid_counts,
)


@dataclass(frozen=True, eq=False)
class NumericCounts:
    """Finite values per reference grid bin, those beyond the grid, and their distance from it.

    ``excess_below`` is the sum of ``edges[0] - x`` over values below the grid, ``excess_above``
    the sum of ``x - edges[-1]`` over values above it: the exact Wasserstein tails.
    """

    rows: int
    missing: int
    below: int
    counts: I64
    above: int
    excess_below: float
    excess_above: float
    minimum: float | None
    maximum: float | None

    @property
    def present(self) -> int:
        """Rows with a finite value."""
        return self.rows - self.missing


@dataclass(frozen=True, eq=False)
class CategoricalCounts:
    """Rows per reference level (in the reference's order), per unseen level, and missing."""

    rows: int
    missing: int
    counts: I64
    unseen: dict[str, int]

    @property
    def unseen_total(self) -> int:
        """Rows whose level the reference never saw."""
        return sum(self.unseen.values())


ColumnCounts = NumericCounts | CategoricalCounts


def summarize(reference: ReferenceProfile, frame: pl.DataFrame) -> dict[str, ColumnCounts]:
    """Count every reference column of ``frame``; InvalidInput if one is absent."""
    absent = [name for name in reference.columns if name not in frame.columns]
    if absent:
        raise InvalidInput(
            f"the current data has no column {absent[0]!r}, which the reference monitors",
            path="columns",
            hint="drift compares tables with the same columns; pass the columns to compare",
        )
    return {name: count_column(column, frame[name]) for name, column in reference.columns.items()}


def count_column(reference: ColumnReference, series: pl.Series) -> ColumnCounts:
    """One column counted against its reference."""
    if isinstance(reference, NumericReference):
        return count_numeric(reference, series)
    return count_categorical(reference, series)


def count_numeric(reference: NumericReference, series: pl.Series) -> NumericCounts:
    """Grid counts by binary search of the edges in the sorted values."""
    values = sorted_values(series)
    data = values.values
    low = float(data[0]) if data.size else None
    high = float(data[-1]) if data.size else None
    if reference.edges.size == 0:  # the reference had no finite value: everything is "above"
        return NumericCounts(
            series.len(), values.missing, 0, np.zeros(0, np.int64), data.size, 0.0, 0.0, low, high
        )
    below, counts, above = grid_counts(data, reference.edges)
    first, last = float(reference.edges[0]), float(reference.edges[-1])
    excess_below = below * first - float(data[:below].sum()) if below else 0.0
    excess_above = float(data[data.size - above :].sum()) - above * last if above else 0.0
    return NumericCounts(
        series.len(), values.missing, below, counts, above, excess_below, excess_above, low, high
    )


def count_categorical(reference: CategoricalReference, series: pl.Series) -> CategoricalCounts:
    """Level counts by one hash count; levels the reference lacks are kept by name."""
    present = text_values(series).drop_nulls().rename("level")
    found = present.value_counts(name="n").sort(["n", "level"], descending=[True, False])
    seen = dict(zip(found["level"].to_list(), found["n"].to_list(), strict=True))
    counts = np.array([seen.pop(level, 0) for level in reference.levels], dtype=np.int64)
    return CategoricalCounts(series.len(), series.null_count(), counts, seen)
