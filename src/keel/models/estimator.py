"""The estimator contract every model kind follows, and the one place that picks an implementation.

An estimator sees only a float64 feature matrix (the feature pipeline made it), so each kind stays
small: fit, predict, per-feature contributions, importance, and text serialization.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol, Self

import numpy as np
import numpy.typing as npt

from keel.errors import InvalidInput

ModelKind = Literal["lightgbm", "logistic", "linear"]
Task = Literal["binary", "regression"]
F64 = npt.NDArray[np.float64]
MODEL_KINDS: tuple[ModelKind, ...] = ("lightgbm", "logistic", "linear")


class Estimator(Protocol):
    """A fitted or unfitted model over a feature matrix."""

    kind: ModelKind
    task: Task

    def fit(
        self,
        x: F64,
        y: F64,
        *,
        names: Sequence[str],
        categorical: Sequence[int] = (),
        weights: F64 | None = None,
    ) -> Self:
        """Learn from ``x`` (rows, features) and targets ``y``, each row counting ``weights``
        times (all 1 when None); returns self."""
        ...

    def predict(self, x: F64) -> F64:
        """Probability of the positive class (binary) or the predicted value (regression)."""
        ...

    def contributions(self, x: F64) -> F64:
        """Per-feature contributions in the model's raw score, plus a last bias column.

        Each row sums to the raw score (log-odds for binary, the value for regression).
        """
        ...

    def importance(self) -> F64:
        """Global importance per feature, in matrix order (gain for trees, |coef| for linear)."""
        ...

    def get_params(self) -> dict[str, Any]:
        """The parameters a run records."""
        ...

    def to_bytes(self) -> bytes:
        """The fitted model as text (never pickle): LightGBM model text or JSON."""
        ...


def check_matrix(x: F64, y: F64 | None = None) -> None:
    """Shapes that fit together; a clear error instead of a deep library traceback."""
    if x.ndim != 2:
        raise InvalidInput(f"expected a 2-D feature matrix; got {x.ndim} dimensions", path="x")
    if y is not None and y.shape[0] != x.shape[0]:
        raise InvalidInput(f"{x.shape[0]} feature rows but {y.shape[0]} targets", path="y")
    if y is not None and not np.isfinite(y).all():
        raise InvalidInput("targets must be finite numbers; found missing or infinite", path="y")
