"""The feature pipeline's output: a float64 matrix and what each of its columns means."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from keel.errors import InvalidInput

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class FeatureMatrix:
    """Model-ready features: one row per input row, one column per feature.

    ``eq`` is off because arrays have no single truth value; compare ``values`` with
    ``np.array_equal(a.values, b.values, equal_nan=True)``.
    """

    values: F64
    """Float64, shape (rows, features), C- or Fortran-contiguous (the pipeline writes Fortran
    order, which LightGBM and NumPy read without a copy); NaN only where the model takes
    missing."""
    names: tuple[str, ...]
    """Feature names, one per column of ``values``."""
    categorical: tuple[int, ...]
    """Indices of native categorical columns (integer codes), for LightGBM's categorical_feature."""
    source_columns: Mapping[str, str]
    """Feature name -> the input column it came from (a derived feature is its own source)."""

    def __post_init__(self) -> None:
        """Refuse a matrix that does not match its names (a bug upstream, caught here)."""
        values = self.values
        contiguous = values.flags.c_contiguous or values.flags.f_contiguous
        if values.dtype != np.float64 or values.ndim != 2 or not contiguous:
            raise InvalidInput(
                "feature values must be a contiguous 2-D float64 array;"
                f" got {values.ndim}-D {values.dtype}",
                path="values",
            )
        if values.shape[1] != len(self.names):
            raise InvalidInput(
                f"{values.shape[1]} feature columns but {len(self.names)} names", path="names"
            )

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, features)."""
        rows, features = self.values.shape
        return rows, features
