"""Which interval a metric gets: the row bootstrap on small sets, large-sample methods on large.

The percentile bootstrap over rows draws a count for every row in every resample: on a 200,000-row
benchmark set, 1,000 resamples of seven metrics took 3.2 s (1M-row training benchmark), about half
of a model fit. On a large set the bootstrap distribution of a smooth metric is normal to a very
good approximation, with the variance of its first-order row effects (``linearization``), so
from ``LARGE_SAMPLE_ROWS`` rows on:

* ROC AUC gets the normal interval with DeLong's standard error (method ``delong``);
* every other metric with row effects (PR AUC, log loss, Brier, accuracy, precision, recall, F1,
  RMSE, MAE, R²) gets the normal interval with that standard error (method ``delta``), when at
  least ``MIN_SUPPORT`` rows back it (each class for the ranking metrics, the predicted positives
  for precision, ...); otherwise it keeps the row bootstrap;
* ECE, whose ``|gap|`` per bin is not smooth at 0, gets a bootstrap over per-bin sums (method
  ``bin-bootstrap``, see ``cells``), which follows the row bootstrap at a tiny fraction of its cost.

Each has a coverage test on simulated data with a known true value, at ``LARGE_SAMPLE_ROWS`` rows.
Below it the row bootstrap costs little and makes no normality assumption.
"""

from __future__ import annotations

from collections.abc import Mapping
from statistics import NormalDist
from types import MappingProxyType

from keel.evaluation._arrays import F64
from keel.evaluation.estimate import Estimate
from keel.evaluation.resampling import Resampling
from keel.evaluation.spec import Metric, MetricParams

LARGE_SAMPLE_ROWS = 10_000
"""From this many rows on, metrics use the large-sample methods (the row bootstrap below)."""

MIN_SUPPORT = 1_000
"""A normal interval needs at least this many rows behind the metric's denominator."""

_LARGE = f"on {LARGE_SAMPLE_ROWS:,} rows or more"
INTERVAL_METHODS: Mapping[str, str] = MappingProxyType(
    {
        "bootstrap": "percentile bootstrap over the rows",
        "bin-bootstrap": f"percentile bootstrap over per-bin sums (ECE {_LARGE})",
        "delong": f"normal interval, DeLong standard error (ROC AUC {_LARGE})",
        "delta": f"normal interval, delta-method standard error ({_LARGE})",
        "none": "no interval computed",
    }
)
"""Each ``Estimate.method`` in a phrase, for cards and tables."""


def large_sample(
    metric: Metric,
    y: F64,
    s: F64,
    w: F64,
    value: float,
    *,
    params: MetricParams,
    resampling: Resampling,
) -> Estimate | None:
    """``metric``'s estimate by a large-sample method, or None where the row bootstrap applies.

    ``y``, ``s`` are validated; ``w`` are the row weights (ones when none were given).
    """
    if y.size < LARGE_SAMPLE_ROWS or resampling.resamples == 0:
        return None
    if metric.resample is not None:
        draws = metric.resample(
            y, s, w, params, resamples=resampling.resamples, seed=resampling.seed
        )
        low, high, defined = resampling.interval(draws)
        return Estimate(value, low, high, y.size, defined, "bin-bootstrap")
    if metric.influence is None:
        return None
    linear = metric.influence(y, s, w, params)
    if linear.support < MIN_SUPPORT:
        return None
    half = normal_quantile(resampling.confidence) * linear.standard_error()
    return Estimate(value, value - half, value + half, y.size, 0, linear.method)


def normal_quantile(confidence: float) -> float:
    """``z`` such that ``[-z, z]`` holds ``confidence`` of a standard normal (1.96 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)
