"""Direct loss estimation: MAE and RMSE of a regression model before labels, with known truth."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest

from keel.features.errors import NotFittedError
from keel.monitoring.performance.regression import LossEstimator

F64 = npt.NDArray[np.float64]


def stream(rows: int, seed: int, shift: float = 0.0) -> tuple[pl.DataFrame, F64, F64]:
    """Inputs, an outside model's predictions and outcomes. The noise grows with |x1| and in
    region "b"; ``shift`` moves x1 where the model errs more: a known drop of performance."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(shift, 1.0, rows)
    x2 = rng.random(rows)
    region = rng.choice(["a", "b", "c"], rows)
    noise = (0.3 + 0.7 * np.abs(x1) + 0.5 * (region == "b")) * rng.normal(size=rows)
    y = 2.0 * x1 + np.sin(3.0 * x2) + noise
    y_hat = 2.0 * x1 + 0.5  # trained elsewhere: it misses the sine
    return pl.DataFrame({"x1": x1, "x2": x2, "region": region}), y_hat, y


@pytest.fixture(scope="module")
def estimator() -> LossEstimator:
    features, y_hat, y = stream(5000, seed=0)
    return LossEstimator().fit(features, y_hat, y)


def _realized(y_hat: F64, y: F64) -> dict[str, float]:
    return {"mae": float(np.abs(y - y_hat).mean()), "rmse": math.sqrt(((y - y_hat) ** 2).mean())}


@pytest.mark.parametrize("shift", [0.0, 1.0], ids=["stationary", "shifted"])
def test_loss_intervals_cover_the_realized_mae_and_rmse(
    estimator: LossEstimator, shift: float
) -> None:
    covered = {"mae": 0, "rmse": 0}
    alerts = {"mae": 0, "rmse": 0}
    chunks = 20
    for seed in range(chunks):
        features, y_hat, y = stream(1000, seed=100 + seed, shift=shift)
        found = estimator.estimate(features, y_hat)
        for name, value in _realized(y_hat, y).items():
            metric = found.metrics[name]
            covered[name] += metric.low <= value <= metric.high
            alerts[name] += metric.alert
    # a 95% interval: 19 of 20 expected; at least 16 holds with probability ~0.98
    assert covered["mae"] >= 16 and covered["rmse"] >= 16
    if shift:  # the known drop: MAE rises by about a quarter, every chunk alerts
        assert alerts["mae"] == chunks and alerts["rmse"] == chunks
    else:  # 1% false alarms
        assert alerts["mae"] <= 1 and alerts["rmse"] <= 1


def test_loss_estimate_before_fit_raises() -> None:
    features, y_hat, _ = stream(100, seed=1)
    with pytest.raises(NotFittedError):
        LossEstimator().estimate(features, y_hat)
