"""Regression metrics: RMSE, MAE and R², each from weighted sums read in one matrix product.

R² is ``1 - SS_res / SS_tot`` with the weighted mean of ``y``; ``y`` is centred on its plain mean
first so that ``SS_tot = sum w yc^2 - (sum w yc)^2 / sum w`` does not cancel catastrophically.
R² is undefined (NaN) when ``y`` is constant in the resample; scikit-learn would report 1 or 0.
"""

from __future__ import annotations

import numpy as np

from keel.evaluation._arrays import F64, ratio, weighted_means, with_ones
from keel.evaluation.scoring_rules import mean_of
from keel.evaluation.spec import Kernel, Metric, MetricParams

CONSTANT = 1e-12
"""``SS_tot`` at or below this fraction of ``sum w y^2`` counts as a constant target."""


def bind_rmse(y: F64, s: F64, params: MetricParams) -> Kernel:
    """Square root of the weighted mean squared error."""
    mse = mean_of((y - s) ** 2)
    return lambda w: np.sqrt(mse(w))


def bind_mae(y: F64, s: F64, params: MetricParams) -> Kernel:
    """Weighted mean absolute error."""
    return mean_of(np.abs(y - s))


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


RMSE = Metric("rmse", "regression", higher_is_better=False, bind=bind_rmse)
MAE = Metric("mae", "regression", higher_is_better=False, bind=bind_mae)
R2 = Metric("r2", "regression", higher_is_better=True, bind=bind_r2, undefined="y_true is constant")
METRICS = (RMSE, MAE, R2)
