"""calibration_curve agrees with scikit-learn's and with the ECE metric."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.calibration import calibration_curve as sk_calibration_curve

from keel.errors import InvalidInput
from keel.evaluation import METRICS, MetricParams, calibration_curve

F64 = npt.NDArray[np.float64]
Make = Callable[..., tuple[F64, F64, F64]]


@pytest.mark.parametrize("binning", ["uniform", "quantile"], ids=str)
@pytest.mark.parametrize("ties", [False, True], ids=["continuous", "ties"])
def test_matches_sklearn_on_filled_bins(binning: str, ties: bool, make_binary: Make) -> None:
    y, p, _ = make_binary(700, seed=3, ties=ties)
    curve = calibration_curve(y, p, bins=8, binning=binning)  # type: ignore[arg-type]
    observed, predicted = sk_calibration_curve(y, p, n_bins=8, strategy=binning)
    filled = curve.counts > 0
    np.testing.assert_allclose(curve.observed_rate[filled], observed, rtol=1e-12)
    np.testing.assert_allclose(curve.mean_predicted[filled], predicted, rtol=1e-12)
    assert curve.counts.sum() == 700


@pytest.mark.parametrize("binning", ["uniform", "quantile"], ids=str)
def test_ece_metric_reads_the_curve(binning: str, make_binary: Make) -> None:
    y, p, _ = make_binary(700, seed=4)
    curve = calibration_curve(y, p, bins=12, binning=binning)  # type: ignore[arg-type]
    params = MetricParams(bins=12, binning=binning)  # type: ignore[arg-type]
    assert METRICS["ece"].score(y, p, params) == pytest.approx(curve.ece(), rel=1e-12)


def test_empty_bins_keep_their_place() -> None:
    curve = calibration_curve([0, 1, 1], [0.05, 0.95, 0.91], bins=10)
    np.testing.assert_allclose(curve.edges, np.linspace(0, 1, 11))
    assert curve.counts.tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    assert np.isnan(curve.mean_predicted[1]) and np.isnan(curve.observed_rate[1])
    assert curve.to_dict()["mean_predicted"][1] is None
    assert curve.to_dict()["observed_rate"][9] == 1.0


@pytest.mark.parametrize(
    ("p", "bin_index"),
    [(0.0, 0), (0.1, 0), (0.1000001, 1), (0.5, 4), (1.0, 9)],
    ids=["zero", "inner-edge", "just-above-edge", "middle-edge", "one"],
)
def test_bins_are_right_closed(p: float, bin_index: int) -> None:
    assert calibration_curve([1], [p]).counts.tolist().index(1) == bin_index


def test_rejects_scores_outside_0_1() -> None:
    with pytest.raises(InvalidInput) as caught:
        calibration_curve([0, 1], [0.2, 3.0])
    assert caught.value.path == "y_prob[1]"


def test_rejects_unknown_binning() -> None:
    with pytest.raises(InvalidInput, match="'uniform' or 'quantile'; got 'log'"):
        calibration_curve([0, 1], [0.2, 0.3], binning="log")  # type: ignore[arg-type]
