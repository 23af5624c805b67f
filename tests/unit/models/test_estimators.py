"""Estimators: deterministic LightGBM, linear baselines, additive contributions, text artifacts."""

from __future__ import annotations

import numpy as np
import pytest

from keel.errors import InvalidInput
from keel.features.errors import NotFittedError
from keel.models import Calibrator, load_estimator, make_estimator
from keel.models.calibration import Method


def _data(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    x[rng.random(n) < 0.05, 2] = np.nan
    logit = 1.5 * x[:, 0] - x[:, 1] + 0.5 * np.nan_to_num(x[:, 2])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    return x, y


NAMES = ["a", "b", "c", "d"]


def test_lightgbm_is_byte_identical_for_the_same_seed() -> None:
    x, y = _data()
    params = {"n_estimators": 50, "num_leaves": 15}
    first = make_estimator("lightgbm", "binary", params, seed=7).fit(x, y, names=NAMES)
    second = make_estimator("lightgbm", "binary", params, seed=7).fit(x, y, names=NAMES)
    assert first.to_bytes() == second.to_bytes()


@pytest.mark.parametrize("kind", ["lightgbm", "logistic"], ids=["lightgbm", "logistic"])
def test_contributions_add_up_to_the_raw_score(kind: str) -> None:
    x, y = _data()
    if kind == "logistic":
        x = np.nan_to_num(x)
    model = make_estimator(kind, "binary", {"n_estimators": 30}, seed=1).fit(x, y, names=NAMES)
    contributions = model.contributions(x[:50])
    assert contributions.shape == (50, 5)
    probability = 1 / (1 + np.exp(-contributions.sum(axis=1)))
    np.testing.assert_allclose(probability, model.predict(x[:50]), rtol=1e-6)


def test_lightgbm_scores_and_contributions_do_not_depend_on_the_thread_count() -> None:
    """Predictions and TreeSHAP run on the configured threads; each row is computed alone."""
    x, y = _data()
    params = {"n_estimators": 40, "num_threads": 1}
    one = make_estimator("lightgbm", "binary", params, seed=3).fit(x, y, names=NAMES)
    two = load_estimator("lightgbm", "binary", one.to_bytes())
    assert two.get_params()["num_threads"] == 2  # a loaded model runs on Keel's default
    np.testing.assert_array_equal(one.predict(x), two.predict(x))
    np.testing.assert_array_equal(one.contributions(x[:300]), two.contributions(x[:300]))


@pytest.mark.parametrize("kind", ["lightgbm", "logistic"], ids=["lightgbm", "logistic"])
def test_a_stored_model_predicts_the_same(kind: str) -> None:
    x, y = _data()
    x = np.nan_to_num(x) if kind == "logistic" else x
    model = make_estimator(kind, "binary", {"n_estimators": 20}, seed=1).fit(x, y, names=NAMES)
    data = model.to_bytes()
    assert not data.startswith(b"\x80")  # text, never a pickle stream
    loaded = load_estimator(kind, "binary", data)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_regression_with_lightgbm_and_ridge() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2000, 3))
    y = 2 * x[:, 0] - x[:, 1] + rng.normal(scale=0.1, size=2000)
    for kind in ("lightgbm", "linear"):
        model = make_estimator(kind, "regression", {"n_estimators": 100}, seed=0)
        predicted = model.fit(x, y, names=["a", "b", "c"]).predict(x)
        assert np.corrcoef(predicted, y)[0, 1] > 0.95


def test_a_linear_model_refuses_missing_features() -> None:
    x, y = _data()
    with pytest.raises(InvalidInput, match="complete features"):
        make_estimator("logistic", "binary", {}, seed=0).fit(x, y, names=NAMES)


def test_kind_and_task_must_match() -> None:
    with pytest.raises(InvalidInput, match="for binary targets"):
        make_estimator("logistic", "regression", {}, seed=0)
    with pytest.raises(InvalidInput, match=r"model\.kind must be one of"):
        make_estimator("forest", "binary", {}, seed=0)


def test_bad_lightgbm_parameters_are_an_input_error() -> None:
    x, y = _data(500)
    model = make_estimator("lightgbm", "binary", {"num_leaves": -3}, seed=0)
    with pytest.raises(InvalidInput, match="LightGBM refused"):
        model.fit(x, y, names=NAMES)


def test_predicting_before_fit_says_so() -> None:
    with pytest.raises(NotFittedError):
        make_estimator("lightgbm", "binary", {}, seed=0).predict(np.zeros((1, 4)))


def _ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return total


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"], ids=["isotonic", "sigmoid"])
def test_calibration_repairs_overconfident_scores(method: Method) -> None:
    rng = np.random.default_rng(5)
    truth = rng.uniform(0.05, 0.95, 20_000)
    y = (rng.random(truth.size) < truth).astype(np.float64)
    logit = np.log(truth / (1 - truth))
    overconfident = 1 / (1 + np.exp(-3 * logit))  # right ranking, wrong probabilities
    calibrator = Calibrator(method=method).fit(overconfident[:10_000], y[:10_000])
    before = _ece(y[10_000:], overconfident[10_000:])
    after = _ece(y[10_000:], calibrator.apply(overconfident[10_000:]))
    assert before > 0.1
    assert after < before / 3
    restored = Calibrator.from_dict(calibrator.to_dict())
    np.testing.assert_array_equal(restored.apply(overconfident), calibrator.apply(overconfident))


@pytest.mark.parametrize("kind", ["lightgbm", "logistic"], ids=["lightgbm", "logistic"])
def test_weights_of_one_change_nothing_and_lighter_rows_count_less(kind: str) -> None:
    """Rows whose label is flipped pull the model toward them less when they weigh less."""
    x, y = _data()
    x = np.nan_to_num(x)
    flipped = y.copy()
    noisy = x[:, 0] > 1.0
    flipped[noisy] = 0.0  # wrong labels on the rows where the truth is mostly 1
    params = {"n_estimators": 40, "num_leaves": 7}

    def fit(weights: np.ndarray | None) -> np.ndarray:
        model = make_estimator(kind, "binary", params, seed=2)
        return model.fit(x, flipped, names=NAMES, weights=weights).predict(x[noisy])

    plain, ones = fit(None), fit(np.ones(y.size))
    np.testing.assert_allclose(ones, plain, rtol=1e-9)
    light = fit(np.where(noisy, 0.1, 1.0))
    assert light.mean() > plain.mean() + 0.05
