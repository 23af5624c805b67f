"""Input checks and weighted-sum helpers shared by every metric.

Metrics are called from benchmarks, gates and monitors with arrays that came through files and
frames, so a wrong shape, a NaN score or a label outside {0, 1} is caught here with a message that
names the argument, instead of surfacing later as a silent NaN.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from keel.errors import InvalidInput

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def as_vector(values: npt.ArrayLike, *, field: str) -> F64:
    """``values`` as a finite, non-empty 1-D float64 array, else InvalidInput naming ``field``."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInput(f"{field} must be 1-D; got shape {array.shape}", path=field)
    if array.size == 0:
        raise InvalidInput(f"{field} is empty; a metric needs at least one row", path=field)
    try:
        vector = array.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{field} must be numeric; got dtype {array.dtype}", path=field) from exc
    if not np.isfinite(vector).all():
        bad = int(np.flatnonzero(~np.isfinite(vector))[0])
        raise InvalidInput(
            f"{field} must be finite; row {bad} is {vector[bad]}", path=f"{field}[{bad}]"
        )
    return vector


def check_same_length(vector: F64, rows: int, *, field: str) -> F64:
    """``vector`` if it has one entry per row of ``y_true``."""
    if vector.size != rows:
        raise InvalidInput(
            f"{field} must have one entry per row of y_true ({rows}); got {vector.size}",
            path=field,
        )
    return vector


def check_pair(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, *, field: str = "y_score"
) -> tuple[F64, F64]:
    """Both arrays as vectors of the same length."""
    y = as_vector(y_true, field="y_true")
    s = as_vector(y_score, field=field)
    return y, check_same_length(s, y.size, field=field)


def check_labels(y: F64) -> F64:
    """``y`` if every label is 0 or 1 (the positive class is 1)."""
    bad = (y != 0) & (y != 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidInput(
            f"binary labels must be 0 or 1; row {row} is {y[row]}",
            path=f"y_true[{row}]",
            hint="map the target's positive value to 1 and the rest to 0",
        )
    return y


def check_probabilities(s: F64, *, field: str = "y_score") -> F64:
    """``s`` if every score lies in [0, 1]; log loss, Brier and ECE need probabilities."""
    bad = (s < 0) | (s > 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidInput(
            f"this metric needs probabilities in [0, 1]; row {row} of {field} is {s[row]}",
            path=f"{field}[{row}]",
            hint="pass calibrated probabilities, not raw margins",
        )
    return s


def check_weights(weights: npt.ArrayLike, rows: int) -> F64:
    """Row weights: finite, non-negative, one per row, with a positive total."""
    w = check_same_length(as_vector(weights, field="weights"), rows, field="weights")
    if (w < 0).any():
        row = int(np.flatnonzero(w < 0)[0])
        raise InvalidInput(
            f"weights must be non-negative; row {row} is {w[row]}", path=f"weights[{row}]"
        )
    if w.sum() <= 0:
        raise InvalidInput("weights must not all be zero", path="weights")
    return w


def unit_weights(n: int) -> F64:
    """A single resample that keeps every row once: the point estimate as a (1, n) weight row."""
    return np.ones((1, n), dtype=np.float64)


def ratio(numerator: F64, denominator: F64) -> F64:
    """``numerator / denominator`` with NaN where the denominator is zero (an undefined metric)."""
    out = np.full(np.broadcast_shapes(numerator.shape, denominator.shape), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def with_ones(*columns: F64) -> F64:
    """The ``(rows, k + 1)`` matrix of ``columns`` and a last column of ones (the total weight)."""
    return np.column_stack((*columns, np.ones_like(columns[0])))


def weighted_means(w: F64, columns: F64) -> F64:
    """Per resample, the weighted mean of each column of ``columns`` built by ``with_ones``.

    One matrix product reads the weights once for every column; NaN where a resample has no weight.
    """
    sums = w @ columns
    return ratio(sums[:, :-1], sums[:, -1:])


def sorting_order(keys: F64 | I64) -> I64 | None:
    """The stable order that sorts ``keys``, or None when they are sorted already."""
    if keys.size < 2 or bool((keys[1:] >= keys[:-1]).all()):
        return None
    return np.argsort(keys, kind="stable")


def class_order(y: F64, s: F64) -> I64 | None:
    """The stable order by label, then score; None when rows are in that order already.

    ``evaluate`` puts rows in this order once (metrics do not depend on row order and bootstrap
    draws are exchangeable), so ranking kernels find each class contiguous and in score order,
    and calibration bins come in a few contiguous runs: no kernel gathers the weight matrix.
    """
    same = y[1:] == y[:-1]
    if bool((y[1:] >= y[:-1]).all() and (~same | (s[1:] >= s[:-1])).all()):
        return None
    return np.lexsort((s, y))


def run_starts(sorted_keys: F64 | I64) -> I64:
    """The first index of each run of equal values in ``sorted_keys``."""
    change = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    return np.concatenate(([0], change)).astype(np.int64)
