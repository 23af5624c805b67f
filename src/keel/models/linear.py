"""Logistic and linear regression: explainable baselines, stored as JSON coefficients.

Fitting uses scikit-learn; prediction is one matrix product in NumPy, so a stored model loads
from plain numbers with no library object behind it. The feature pipeline standardizes inputs and
imputes missing values, which these models need.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import orjson

from keel.errors import InvalidInput
from keel.features.errors import NotFittedError
from keel.models.estimator import F64, ModelKind, Task, check_matrix

DEFAULTS: dict[str, Any] = {"C": 1.0, "max_iter": 1000}
"""``C`` is the inverse regularization strength (for linear regression, alpha = 1 / C)."""
FORMAT = 1


class LinearEstimator:
    """``logistic`` for binary targets, ``linear`` (ridge) for regression."""

    def __init__(self, *, task: Task, params: dict[str, Any], seed: int) -> None:
        self.task = task
        self.kind: ModelKind = "logistic" if task == "binary" else "linear"
        self.params = params
        self.seed = seed
        self.coef_: F64 | None = None
        self.intercept_ = 0.0

    def get_params(self) -> dict[str, Any]:
        return {**DEFAULTS, **self.params, "seed": self.seed}

    def fit(
        self,
        x: F64,
        y: F64,
        *,
        names: Sequence[str],
        categorical: Sequence[int] = (),
        weights: F64 | None = None,
    ) -> Self:
        check_matrix(x, y)
        if not np.isfinite(x).all():
            raise InvalidInput(
                "linear models need complete features; the pipeline left missing values",
                path="features.numeric.impute",
                hint="set features.numeric.impute to median, mean or zero",
            )
        # scikit-learn only fits; predicting is one matrix product, so serving never imports it
        from sklearn.linear_model import LogisticRegression, Ridge  # noqa: PLC0415

        merged = self.get_params()
        strength, iterations = float(merged["C"]), int(merged["max_iter"])
        if self.task == "binary":
            model = LogisticRegression(C=strength, max_iter=iterations, random_state=self.seed)
            model.fit(x, y, sample_weight=weights)
            self.coef_ = np.asarray(model.coef_[0], dtype=np.float64)
            self.intercept_ = float(model.intercept_[0])
        else:
            ridge = Ridge(alpha=1.0 / strength, random_state=self.seed)
            ridge.fit(x, y, sample_weight=weights)
            self.coef_ = np.asarray(ridge.coef_, dtype=np.float64)
            self.intercept_ = float(ridge.intercept_)
        return self

    def _coef(self) -> F64:
        if self.coef_ is None:
            raise NotFittedError("LinearEstimator")
        return self.coef_

    def _raw(self, x: F64) -> F64:
        check_matrix(x)
        return np.asarray(x @ self._coef() + self.intercept_, dtype=np.float64)

    def predict(self, x: F64) -> F64:
        raw = self._raw(x)
        if self.task == "binary":
            return np.asarray(1.0 / (1.0 + np.exp(-raw)), dtype=np.float64)
        return raw

    def contributions(self, x: F64) -> F64:
        check_matrix(x)
        parts = x * self._coef()
        bias = np.full((x.shape[0], 1), self.intercept_)
        return np.hstack([parts, bias])

    def importance(self) -> F64:
        return np.abs(self._coef())

    def to_bytes(self) -> bytes:
        body = {
            "format": FORMAT,
            "task": self.task,
            "coef": self._coef().tolist(),
            "intercept": self.intercept_,
        }
        return orjson.dumps(body)

    @classmethod
    def from_bytes(cls, data: bytes, *, task: Task) -> Self:
        try:
            body = orjson.loads(data)
            if body.get("format") != FORMAT:
                raise InvalidInput(
                    f"unknown linear model format {body.get('format')!r}", path="model"
                )
            estimator = cls(task=task, params={}, seed=0)
            estimator.coef_ = np.asarray(body["coef"], dtype=np.float64)
            estimator.intercept_ = float(body["intercept"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(
                "the stored linear model is not valid JSON coefficients", path="model"
            ) from exc
        return estimator
