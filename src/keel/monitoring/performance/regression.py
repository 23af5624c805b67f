"""Estimated regression performance before labels arrive: direct loss estimation (DLE).

A regression model's error is not read from its output the way a classifier's is from its
probabilities, so a second model learns it: on the labelled reference, LightGBM regressors of
the absolute error ``|y - y_hat|`` and of the squared error ``(y - y_hat)^2`` from the inputs and
the prediction (as NannyML's DLE does). A chunk's estimated MAE is the mean predicted absolute
error, its estimated RMSE the square root of the mean predicted squared error.

**The interval** is where the chunk's *realized* MAE (RMSE) will fall once its labels arrive, if
the relation between inputs and error still holds. The realized value is a mean of row losses
``l_i``, each scattered around its prediction ``m(x_i)``; that scatter is learned too: the loss
models are cross-fitted on the reference (``folds`` out-of-fold predictions) and a third
regressor learns the squared out-of-fold residual ``(l_i - m(x_i))^2``, so the variance of a
chunk's mean is ``sum v(x_i) / n^2`` *for the rows of that chunk* (a chunk that moved to where
errors are noisier gets a wider interval). The interval is ``mean m(x_i) +- z sqrt(sum v) / n``
(the RMSE's is the square root of the MSE's). ``tests/.../test_loss_estimation.py`` checks its
coverage on a simulated stream with known truth.

**An alert** is raised when the reference's realized loss lies below the ``false_alarm_rate``
lower quantile of that distribution: an increase of the loss that row noise would not explain.

DLE sees only the drops the inputs explain (covariate shift into regions where the model errs
more); a change of the relation itself (concept drift) needs labels: realized performance. Trees
do not extrapolate: a chunk that moves far beyond the reference's range gets the loss of the
reference's edge, so the estimate there is too low (in the simulation, a shift of one standard
deviation keeps the 95% interval's coverage at 90-95%; a shift of 1.5 drops it to about 55%,
while every such chunk still alerts).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.special import ndtri

from keel.errors import InvalidInput
from keel.features.errors import NotFittedError
from keel.models.boosting import LightGBMEstimator
from keel.monitoring._arrays import F64
from keel.monitoring.multivariate import encode_codes
from keel.monitoring.performance.estimated import EstimatedMetric, EstimatedPerformance
from keel.monitoring.reference import CategoricalReference, ReferenceProfile, build_reference

DLE_METRICS = ("mae", "rmse")
LOSS_PARAMS: Mapping[str, Any] = {
    "n_estimators": 150,
    "num_leaves": 15,
    "learning_rate": 0.05,
    "min_child_samples": 40,
    "num_threads": 1,
}
PREDICTION = "__prediction__"


class LossEstimator:
    """DLE fitted on labelled reference rows: inputs, the model's predictions, the outcomes."""

    def __init__(
        self,
        *,
        columns: Sequence[str] | None = None,
        confidence: float = 0.95,
        false_alarm_rate: float = 0.01,
        folds: int = 3,
        params: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        self.columns = columns
        self.confidence = confidence
        self.false_alarm_rate = false_alarm_rate
        self.folds = folds
        self.params = params
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        """The parameters a run records."""
        return {
            "columns": None if self.columns is None else list(self.columns),
            "confidence": self.confidence,
            "false_alarm_rate": self.false_alarm_rate,
            "folds": self.folds,
            "params": {**LOSS_PARAMS, **(self.params or {})},
            "seed": self.seed,
        }

    def fit(self, features: pl.DataFrame, y_pred: npt.ArrayLike, y_true: npt.ArrayLike) -> Self:
        """Learn each loss and its scatter from the reference; measure the reference's loss."""
        if self.folds < 2:
            raise InvalidInput(f"folds must be at least 2; got {self.folds}", path="folds")
        prediction, truth = _vector("y_pred", y_pred), _vector("y_true", y_true)
        if prediction.size != truth.size or prediction.size != features.height:
            raise InvalidInput(
                "features, y_pred and y_true must have one row each per reference row",
                path="y_true",
            )
        if features.height < 10 * self.folds:
            raise InvalidInput(
                f"loss estimation needs at least {10 * self.folds} labelled reference rows;"
                f" got {features.height}",
                path="reference",
            )
        self.profile_ = build_reference(features, columns=self.columns)
        x = self._matrix(features, prediction)
        error = truth - prediction
        self.models_: dict[str, tuple[LightGBMEstimator, LightGBMEstimator]] = {}
        for name, loss in (("mae", np.abs(error)), ("rmse", error**2)):
            self.models_[name] = self._fit_loss(x, loss)
        self.reference_ = {
            "mae": float(np.abs(error).mean()),
            "rmse": float(math.sqrt((error**2).mean())),
        }
        return self

    def _matrix(self, features: pl.DataFrame, prediction: F64) -> F64:
        return np.column_stack((encode_codes(self.profile_, features), prediction))

    def _lightgbm(self, x: F64, y: F64, seed: int) -> LightGBMEstimator:
        profile: ReferenceProfile = self.profile_
        names = [*profile.columns, PREDICTION]
        categorical = [
            i for i, c in enumerate(profile.columns.values()) if isinstance(c, CategoricalReference)
        ]
        params = {**LOSS_PARAMS, **(self.params or {})}
        model = LightGBMEstimator(task="regression", params=params, seed=seed)
        return model.fit(x, y, names=names, categorical=categorical)

    def _fit_loss(self, x: F64, loss: F64) -> tuple[LightGBMEstimator, LightGBMEstimator]:
        """The loss model (on every row) and the model of its out-of-fold squared residual."""
        fold = np.random.default_rng(self.seed).permutation(loss.size) % self.folds
        out_of_fold = np.empty(loss.size)
        for k in range(self.folds):
            test = fold == k
            model = self._lightgbm(x[~test], loss[~test], self.seed + k)
            out_of_fold[test] = model.predict(x[test])
        scatter = self._lightgbm(x, (loss - out_of_fold) ** 2, self.seed + self.folds)
        return self._lightgbm(x, loss, self.seed), scatter

    def estimate(self, features: pl.DataFrame, y_pred: npt.ArrayLike) -> EstimatedPerformance:
        """The chunk's estimated MAE and RMSE, their intervals, and alerts."""
        models: dict[str, tuple[LightGBMEstimator, LightGBMEstimator]] | None = getattr(
            self, "models_", None
        )
        if models is None:
            raise NotFittedError("LossEstimator")
        prediction = _vector("y_pred", y_pred)
        if prediction.size != features.height:
            raise InvalidInput("y_pred must have one entry per row of the chunk", path="y_pred")
        x = self._matrix(features, prediction)
        z = float(ndtri(0.5 + self.confidence / 2.0))
        z_alert = float(ndtri(1.0 - self.false_alarm_rate))
        found = {}
        for name, (loss_model, scatter_model) in models.items():
            mean = float(np.clip(loss_model.predict(x), 0.0, None).mean())
            spread = math.sqrt(float(np.clip(scatter_model.predict(x), 0.0, None).sum()))
            spread /= prediction.size
            low, high = max(mean - z * spread, 0.0), mean + z * spread
            base = self.reference_[name]
            floor = max(mean - z_alert * spread, 0.0)
            if name == "rmse":  # the models speak of the squared error: the RMSE is its root
                base_mse = base**2
                mean, low, high = math.sqrt(mean), math.sqrt(low), math.sqrt(high)
                alert = base_mse < floor
            else:
                alert = base < floor
            found[name] = EstimatedMetric(mean, low, high, base, alert)
        return EstimatedPerformance(prediction.size, found)


def _vector(name: str, values: npt.ArrayLike) -> F64:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0 or not np.isfinite(array).all():
        raise InvalidInput(f"{name} must be a non-empty 1-D array of finite numbers", path=name)
    return array
