"""Calibration: the reliability curve and the expected calibration error (ECE) read from it.

Probabilities are put in bins, right-closed like scikit-learn's ``calibration_curve`` (a score on
an inner edge falls in the lower bin). ``uniform`` bins are equal-width on [0, 1]; ``quantile``
bins hold about equal numbers of rows, with edges at the percentiles of the scores.

ECE is the row-weighted mean gap between predicted and observed rate over the bins:
``sum_b |sum_{i in b} w_i (p_i - y_i)| / sum_i w_i``. In a bootstrap the bins stay those of the
full sample, so the interval reflects the resampled rows, not a moving grid. On large sets the
bootstrap draws per-cell sums (``cells``, one cell per bin and label) instead of rows.

ECE is biased upwards (each ``|gap|`` of a noisy sum exceeds the true one on average), most where
the model is well calibrated: there, neither bootstrap's interval reliably covers the true ECE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from keel.evaluation._arrays import (
    F64,
    I64,
    check_labels,
    check_pair,
    check_probabilities,
    ratio,
    run_starts,
    sorting_order,
)
from keel.evaluation.cells import cell_sums
from keel.evaluation.spec import Binning, Kernel, Metric, MetricParams

MAX_RUNS = 4
"""Rows in at most this many runs per bin (``evaluate`` gives two: one per class) are summed in
place; more scattered rows are sorted by bin once, and the weights gathered per block."""


def bin_edges(s: F64, bins: int, binning: Binning) -> F64:
    """The ``bins + 1`` edges: equal width on [0, 1], or the percentiles of ``s``."""
    if binning == "uniform":
        return np.linspace(0.0, 1.0, bins + 1)
    return np.percentile(s, np.linspace(0.0, 100.0, bins + 1))


def bin_codes(s: F64, edges: F64) -> I64:
    """The bin of each score; bins are right-closed, the first one closed on both sides."""
    return np.searchsorted(edges[1:-1], s, side="left").astype(np.int64)


@dataclass(frozen=True, eq=False)
class CalibrationCurve:
    """Per bin: the mean predicted probability, the observed rate of class 1, and the row count.

    Empty bins keep their place with NaN means and a zero count, so every array lines up with
    ``edges`` (``edges[b]`` to ``edges[b + 1]`` bounds bin ``b``).
    """

    edges: F64
    mean_predicted: F64
    observed_rate: F64
    counts: I64

    def ece(self) -> float:
        """The expected calibration error: the count-weighted mean gap over non-empty bins."""
        filled = self.counts > 0
        gaps = np.abs(self.mean_predicted[filled] - self.observed_rate[filled])
        return float(np.dot(gaps, self.counts[filled]) / self.counts.sum())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready lists; an empty bin's means are None."""

        def floats(values: F64) -> list[float | None]:
            return [None if np.isnan(v) else float(v) for v in values]

        return {
            "edges": [float(e) for e in self.edges],
            "mean_predicted": floats(self.mean_predicted),
            "observed_rate": floats(self.observed_rate),
            "counts": [int(c) for c in self.counts],
        }


def calibration_curve(
    y_true: npt.ArrayLike, y_prob: npt.ArrayLike, *, bins: int = 10, binning: Binning = "uniform"
) -> CalibrationCurve:
    """The reliability curve of ``y_prob`` against binary ``y_true``, for plots and ECE."""
    params = MetricParams(bins=bins, binning=binning)
    y, p = check_pair(y_true, y_prob, field="y_prob")
    check_labels(y)
    check_probabilities(p, field="y_prob")
    edges = bin_edges(p, params.bins, params.binning)
    codes = bin_codes(p, edges)
    counts = np.bincount(codes, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.bincount(codes, weights=p, minlength=bins) / counts
        observed = np.bincount(codes, weights=y, minlength=bins) / counts
    return CalibrationCurve(edges, mean_predicted, observed, counts.astype(np.int64))


def bind_ece(y: F64, s: F64, params: MetricParams) -> Kernel:
    """ECE over the bins of ``params`` (see the module docstring)."""
    codes = bin_codes(s, bin_edges(s, params.bins, params.binning))
    gap = s - y
    order = None if run_starts(codes).size <= MAX_RUNS * params.bins else sorting_order(codes)
    if order is not None:
        codes, gap = codes[order], gap[order]
    starts = run_starts(codes)
    bounds = list(zip(starts.tolist(), [*starts[1:].tolist(), codes.size], strict=True))
    bins = codes[starts]
    columns = np.column_stack((gap, np.ones_like(gap)))

    def kernel(w: F64) -> F64:
        if order is not None:
            w = w[:, order]
        # one matrix-vector product per run of equal bins: the weights are read once
        sums = np.stack([w[:, a:b] @ columns[a:b] for a, b in bounds])
        per_bin = np.zeros((params.bins, w.shape[0]))
        np.add.at(per_bin, bins, sums[:, :, 0])
        gaps: F64 = np.abs(per_bin).sum(axis=0)
        return ratio(gaps, sums[:, :, 1].sum(axis=0))

    return kernel


def resample_ece(y: F64, s: F64, w: F64, params: MetricParams, *, resamples: int, seed: int) -> F64:
    """ECE on bootstrap draws of the per-(bin, label) sums of ``w`` and ``w p`` (see ``cells``)."""
    bins = bin_codes(s, bin_edges(s, params.bins, params.binning))
    codes = 2 * bins + y.astype(np.int64)
    sums = cell_sums(
        codes, np.column_stack((w, w * s)), 2 * params.bins, resamples, np.random.default_rng(seed)
    )
    weight = sums[:, :, 0]
    gaps = (sums[:, :, 1] - weight * (np.arange(2 * params.bins) % 2)).reshape(resamples, -1, 2)
    return ratio(np.abs(gaps.sum(axis=2)).sum(axis=1), weight.sum(axis=1))


ECE = Metric(
    "ece",
    "binary",
    higher_is_better=False,
    bind=bind_ece,
    needs_probabilities=True,
    resample=resample_ece,
)
METRICS = (ECE,)
