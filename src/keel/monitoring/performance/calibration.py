"""Does the model's calibration still hold? Checked once a chunk's labels arrive.

Estimated performance (CBPE) is only as good as the probabilities it reads, so every labelled
chunk tests them two ways, each at half the false-alarm rate:

* **in the large**: are there as many positives as the probabilities promise? With
  ``y_i ~ Bernoulli(p_i)``, ``z = (sum y - sum p) / sqrt(sum p (1 - p))`` is standard normal;
  a two-sided test.
* **in the small**: is the expected calibration error (equal-width bins) larger than a
  calibrated model would show on a chunk like this one? Labels are drawn from the probabilities
  ``simulations`` times, and the threshold is the upper tail of their ECE (peaks over threshold,
  as for drift): ECE shrinks with chunk size, so a fixed limit would not do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from keel.errors import InvalidInput
from keel.monitoring._arrays import F64
from keel.monitoring.null import tail_quantile

BLOCK_CELLS = 4_000_000


@dataclass(frozen=True)
class CalibrationCheck:
    """The labelled rows of a chunk against the probabilities the model gave them."""

    rows: int
    mean_predicted: float
    observed_rate: float
    z: float
    p_value: float
    ece: float
    ece_threshold: float
    false_alarm_rate: float

    @property
    def holds(self) -> bool:
        """True unless either test rejects at its share of the false-alarm rate."""
        return self.p_value >= self.false_alarm_rate / 2 and self.ece <= self.ece_threshold

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "rows": self.rows,
            "mean_predicted": self.mean_predicted,
            "observed_rate": self.observed_rate,
            "z": self.z,
            "p_value": self.p_value,
            "ece": self.ece,
            "ece_threshold": self.ece_threshold,
            "holds": self.holds,
        }


def _ece(gaps: F64, codes: npt.NDArray[np.int64], bins: int, rows: int) -> F64:
    """ECE of each row of ``gaps`` (draws, rows) of ``p - y``, per equal-width bin."""
    per_bin = np.zeros((gaps.shape[0], bins))
    for b in range(bins):
        members = codes == b
        if members.any():
            per_bin[:, b] = gaps[:, members].sum(axis=1)
    result: F64 = np.abs(per_bin).sum(axis=1) / rows
    return result


def check_calibration(
    y_true: npt.ArrayLike,
    y_prob: npt.ArrayLike,
    *,
    bins: int = 10,
    false_alarm_rate: float = 0.01,
    simulations: int = 1000,
    seed: int = 0,
) -> CalibrationCheck:
    """Test the labelled rows (``y_true`` NaN where unlabelled) against their probabilities."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_prob, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise InvalidInput("y_true and y_prob must be 1-D and of one length", path="y_true")
    labelled = ~np.isnan(y)
    y, p = y[labelled], p[labelled]
    if y.size < 2 or not np.isin(y, (0.0, 1.0)).all():
        raise InvalidInput(
            "the calibration check needs at least 2 labelled rows, each 0 or 1", path="y_true"
        )
    if not (np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()):
        raise InvalidInput("y_prob must hold probabilities in [0, 1]", path="y_prob")
    from scipy.special import ndtr  # noqa: PLC0415 - SciPy loads when used, not at start-up

    variance = float((p * (1.0 - p)).sum())
    z = (float(y.sum()) - float(p.sum())) / math.sqrt(variance) if variance > 0 else 0.0
    codes = np.minimum((p * bins).astype(np.int64), bins - 1)
    observed = float(_ece((p - y)[None, :], codes, bins, y.size)[0])
    rng = np.random.default_rng(seed)
    step = max(1, BLOCK_CELLS // y.size)
    draws = np.concatenate(
        [
            _ece(p - (rng.random((min(step, simulations - i), y.size)) < p), codes, bins, y.size)
            for i in range(0, simulations, step)
        ]
    )
    threshold = float(tail_quantile(draws[:, None], np.array([false_alarm_rate / 2]))[0])
    return CalibrationCheck(
        rows=int(y.size),
        mean_predicted=float(p.mean()),
        observed_rate=float(y.mean()),
        z=z,
        p_value=float(2.0 * ndtr(-abs(z))),
        ece=observed,
        ece_threshold=threshold,
        false_alarm_rate=false_alarm_rate,
    )
