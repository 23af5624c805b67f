"""Threshold calibration against known null distributions, fixed levels and overrides."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy.stats import chi2, kstwobign

from keel.errors import InvalidInput
from keel.monitoring import DriftDetector, ThresholdPolicy
from keel.monitoring.null import tail_quantile

ALPHA = 0.01


def _thresholds(
    reference: pl.DataFrame, current: pl.DataFrame, **policy: object
) -> dict[str, dict[str, float]]:
    detector = DriftDetector(thresholds=ThresholdPolicy(**policy))  # type: ignore[arg-type]
    report = detector.fit(reference).check(current)
    return {
        name: {s: r.threshold for s, r in column.statistics.items()}
        for name, column in report.columns.items()
    }


def test_ks_level_follows_the_kolmogorov_distribution_for_continuous_data() -> None:
    rng = np.random.default_rng(0)
    n, big = 2000, 40_000
    found = _thresholds(
        pl.DataFrame({"x": rng.normal(size=big)}), pl.DataFrame({"x": rng.normal(size=n)})
    )
    alpha = ALPHA / 4  # four statistics share the column's rate
    expected = kstwobign.ppf(1 - alpha) * math.sqrt(1 / n + 1 / big)
    assert 0.95 < found["x"]["ks"] / expected < 1.15


def test_chi_square_level_follows_chi_square_with_levels_minus_one_degrees() -> None:
    rng = np.random.default_rng(1)
    levels = np.array(list("abcde"))
    reference = pl.DataFrame({"c": levels[rng.integers(0, 5, 50_000)]})
    current = pl.DataFrame({"c": levels[rng.integers(0, 5, 5000)]})
    found = _thresholds(reference, current)["c"]["chi2"]
    expected = chi2.ppf(1 - ALPHA / 3, df=4)  # three statistics share the column's rate
    assert 0.95 < found / expected < 1.2


def test_levels_tighten_as_chunks_grow() -> None:
    rng = np.random.default_rng(2)
    reference = pl.DataFrame({"x": rng.normal(size=100_000)})
    small = _thresholds(reference, pl.DataFrame({"x": rng.normal(size=1000)}))["x"]
    large = _thresholds(reference, pl.DataFrame({"x": rng.normal(size=10_000)}))["x"]
    shrink = math.sqrt((1 / 10_000 + 1 / 100_000) / (1 / 1000 + 1 / 100_000))
    assert large["ks"] / small["ks"] == pytest.approx(shrink, rel=1e-9)
    assert large["wasserstein"] / small["wasserstein"] == pytest.approx(shrink, rel=1e-9)
    assert large["psi"] < small["psi"] / 5  # about 1/n for PSI


def test_fixed_levels_are_the_conventional_ones() -> None:
    rng = np.random.default_rng(3)
    reference = pl.DataFrame({"x": rng.normal(size=4000), "c": rng.choice(["a", "b", "c"], 4000)})
    current = pl.DataFrame({"x": rng.normal(size=1000), "c": rng.choice(["a", "b", "c"], 1000)})
    found = _thresholds(reference, current, method="fixed")
    assert found["x"]["psi"] == found["x"]["js"] == found["x"]["wasserstein"] == 0.1
    assert found["x"]["ks"] == pytest.approx(1.3581 * math.sqrt(1 / 1000 + 1 / 4000))
    assert found["c"]["chi2"] == pytest.approx(chi2.ppf(0.95, df=2))


def test_a_fixed_value_overrides_one_statistic_under_calibration() -> None:
    rng = np.random.default_rng(4)
    frame = pl.DataFrame({"x": rng.normal(size=3000)})
    found = _thresholds(frame, frame, fixed={"psi": 0.25})["x"]
    assert found["psi"] == 0.25 and found["ks"] != 0.25


def test_tail_quantile_is_close_to_the_true_quantile_of_an_exponential() -> None:
    rng = np.random.default_rng(5)
    draws = rng.exponential(size=(4000, 3))
    found = tail_quantile(draws, np.array([0.01, 0.001, 0.2]))
    assert found[:2] == pytest.approx([-math.log(0.01), -math.log(0.001)], rel=0.1)
    assert found[2] == pytest.approx(-math.log(0.2), rel=0.05)


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ({"method": "p-value"}, "threshold.method"),
        ({"false_alarm_rate": 0.0}, "threshold.false_alarm_rate"),
        ({"resamples": 10}, "threshold.resamples"),
        ({"fixed": {"psi": -1}}, "threshold.fixed.psi"),
    ],
    ids=["method", "rate", "resamples", "fixed"],
)
def test_policy_refuses_bad_settings(settings: dict[str, object], path: str) -> None:
    with pytest.raises(InvalidInput) as error:
        ThresholdPolicy(**settings)  # type: ignore[arg-type]
    assert error.value.path == path


def test_policy_round_trips_through_a_dict() -> None:
    policy = ThresholdPolicy(method="fixed", false_alarm_rate=0.02, fixed={"ks": 0.05})
    assert ThresholdPolicy.from_dict(policy.to_dict()) == policy
