"""Regression metrics: RMSE, MAE and R², each from weighted sums read in one matrix product.

R² is ``1 - SS_res / SS_tot`` with the weighted mean of ``y``; ``y`` is centred on its plain mean
first so that ``SS_tot = sum w yc^2 - (sum w yc)^2 / sum w`` does not cancel catastrophically.
R² is undefined (NaN) when ``y`` is constant in the resample; scikit-learn would report 1 or 0.

Large-sample effects: MAE and MSE are means; RMSE is ``sqrt(MSE)``, so its effects are the MSE's
over ``2 RMSE``; R² is ``1 - A / B`` for the mean squared residual ``A`` and the weighted variance
``B`` of ``y``, whose effects are ``w_i ((yc_i - mean)^2 - B) / sum w``.
"""

from __future__ import annotations

import numpy as np

from keel.evaluation._arrays import F64, ratio, weighted_means, with_ones
from keel.evaluation.linearization import Linearization, small_sample
from keel.evaluation.scoring_rules import mean_influence, mean_of
from keel.evaluation.spec import Kernel, Metric, MetricParams

CONSTANT = 1e-12
"""``SS_tot`` at or below this fraction of ``sum w y^2`` counts as a constant target."""


def squared_errors(y: F64, s: F64) -> F64:
    return np.asarray((y - s) ** 2, dtype=np.float64)


def absolute_errors(y: F64, s: F64) -> F64:
    return np.asarray(np.abs(y - s), dtype=np.float64)


def bind_rmse(y: F64, s: F64, params: MetricParams) -> Kernel:
    """Square root of the weighted mean squared error."""
    mse = mean_of(squared_errors(y, s))
    return lambda w: np.sqrt(mse(w))


def bind_mae(y: F64, s: F64, params: MetricParams) -> Kernel:
    """Weighted mean absolute error."""
    return mean_of(absolute_errors(y, s))


def bind_r2(y: F64, s: F64, params: MetricParams) -> Kernel:
    """The weighted coefficient of determination (see the module docstring)."""
    yc = y - y.mean()
    columns = with_ones(yc, yc * yc, (y - s) ** 2, y * y)

    def kernel(w: F64) -> F64:
        means = weighted_means(w, columns)
        tot = means[:, 1] - means[:, 0] ** 2
        tot[tot <= CONSTANT * means[:, 3]] = 0.0
        return 1.0 - ratio(means[:, 2], tot)

    return kernel


def rmse_influence(y: F64, s: F64, w: F64, params: MetricParams) -> Linearization:
    """The MSE's effects over ``2 RMSE`` (zero when every prediction is exact)."""
    mse = mean_influence(squared_errors)(y, s, w, params)
    rmse = float(np.sqrt(np.dot(w, squared_errors(y, s)) / w.sum()))
    effects = mse.effects / (2 * rmse) if rmse > 0 else np.zeros_like(mse.effects)
    return Linearization(effects, mse.support)


def r2_influence(y: F64, s: F64, w: F64, params: MetricParams) -> Linearization:
    """The effects of ``1 - A / B`` (see the module docstring)."""
    total = w.sum()
    yc = y - y.mean()
    residual = (y - s) ** 2
    a = float(np.dot(w, residual)) / total
    centred = yc - float(np.dot(w, yc)) / total
    b = float(np.dot(w, centred * centred)) / total
    effect_a = w * (residual - a) / total
    effect_b = w * (centred * centred - b) / total
    rows = int(np.count_nonzero(w > 0))
    return Linearization(small_sample(-effect_a / b + a * effect_b / b**2, rows), rows)


RMSE = Metric(
    "rmse", "regression", higher_is_better=False, bind=bind_rmse, influence=rmse_influence
)
MAE = Metric(
    "mae",
    "regression",
    higher_is_better=False,
    bind=bind_mae,
    influence=mean_influence(absolute_errors),
)
R2 = Metric(
    "r2",
    "regression",
    higher_is_better=True,
    bind=bind_r2,
    undefined="y_true is constant",
    influence=r2_influence,
)
METRICS = (RMSE, MAE, R2)
