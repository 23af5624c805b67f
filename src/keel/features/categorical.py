"""Categorical features: the levels kept in training, and their codes.

``fit`` keeps the levels seen in at least ``min_frequency`` of the training rows, at most
``max_levels`` of them, most frequent first (ties by name). Every other training level folds into
``__other__``, whose code is the last one: codes run 0..k with k = len(levels). A missing value
stays missing. A level never seen in training becomes ``__other__`` (``unseen: other``) or missing
(``unseen: missing``); only in that second case are the folded levels stored, to tell them apart.

Codes come from one native cast to a Polars Enum of the known levels (values outside it become
null), read through Arrow without copying the strings, so a call costs a few microseconds.

Native encoding (LightGBM) emits the code as one float column (NaN when missing); one-hot encoding
(linear models) emits one 0/1 column per code, all zero when missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from keel.features.spec import CategoricalSpec

F64 = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]

OTHER = "__other__"
"""The level that collects rare, folded and (with ``unseen: other``) unseen values."""

ARROW_MAX_LEVELS = 1000
"""Up to this many known levels, codes are read through Arrow (a few microseconds, but the Enum's
dictionary is converted on every call); above it, through Polars' ``to_physical`` (about 50 us
whatever the number of levels). Both read the same Enum index, so the codes are identical."""


@dataclass(frozen=True)
class CategoricalState:
    """What ``fit`` learned about one categorical column."""

    name: str
    levels: tuple[str, ...]
    """Kept levels in code order; ``__other__`` has code ``len(levels)``."""
    folded: tuple[str, ...] = ()
    """Training levels folded into ``__other__``; stored only with ``unseen: missing``."""

    @property
    def width(self) -> int:
        """Number of codes, ``__other__`` included."""
        return len(self.levels) + 1

    @property
    def codes(self) -> tuple[str, ...]:
        """Level names in code order, ``__other__`` last."""
        return (*self.levels, OTHER)


def learn_levels(values: pl.Series, spec: CategoricalSpec, name: str) -> CategoricalState:
    """The levels of ``values`` (a String series of all training rows) that ``spec`` keeps."""
    counts = (
        values.rename("level")
        .drop_nulls()
        .value_counts(name="n")
        .sort(["n", "level"], descending=[True, False])
    )
    frequent = counts.filter(
        (pl.col("n") >= spec.min_frequency * max(values.len(), 1)) & (pl.col("level") != OTHER)
    )
    levels = tuple(frequent.get_column("level").head(spec.max_levels).to_list())
    folded: tuple[str, ...] = ()
    if spec.unseen == "missing":
        kept = set(levels)
        folded = tuple(level for level in counts.get_column("level").to_list() if level not in kept)
    return CategoricalState(name, levels, folded)


@dataclass(frozen=True, eq=False)
class Coder:
    """Codes of one categorical column, built once per fitted state."""

    name: str
    known: pl.Enum
    """Kept levels, then folded ones: a value's position here is its code before folding."""
    other: int
    """The code of ``__other__`` (the number of kept levels)."""
    unseen_is_other: bool

    @classmethod
    def build(cls, state: CategoricalState, *, unseen: str) -> Coder:
        """The coder for ``state`` under the ``unseen`` policy."""
        known = pl.Enum([*state.levels, *state.folded])
        return cls(state.name, known, len(state.levels), unseen_is_other=unseen == "other")

    def write(self, series: pl.Series, out: F64) -> None:
        """Write the float64 codes of a String/Categorical/Enum/Null series into ``out`` (1-D);
        NaN where missing."""
        text = series if series.dtype == pl.String else series.cast(pl.String)
        coded = text.cast(self.known, strict=False)
        if len(self.known.categories) <= ARROW_MAX_LEVELS:
            out[:] = coded.to_arrow().indices.to_numpy(zero_copy_only=False)
        else:
            out[:] = coded.to_physical().to_numpy()
        np.minimum(out, self.other, out=out)
        if self.unseen_is_other and coded.null_count() > text.null_count():
            unseen = np.isnan(out)
            if text.null_count():
                unseen &= ~text.to_arrow().is_null().to_numpy(zero_copy_only=False)
            out[unseen] = self.other


def write_onehot(out: F64, codes: F64, offsets: Index) -> None:
    """Set ``out[row, offsets[j] + codes[row, j]] = 1`` wherever a code is present.

    ``out`` (C- or Fortran-contiguous) must be zero in those columns. A missing code writes 0 to
    its column's first one-hot column instead, which keeps the scatter free of ``nonzero`` and
    row selection.
    """
    present = ~np.isnan(codes)
    columns = np.where(present, codes, 0.0).astype(np.intp)
    columns += offsets
    rows = np.arange(out.shape[0], dtype=np.intp)[:, None]
    if out.flags.c_contiguous:
        index, flat = rows * out.shape[1] + columns, out.reshape(-1)
    else:
        index, flat = columns * out.shape[0] + rows, out.reshape(-1, order="F")
    flat[index.ravel()] = present.ravel()
