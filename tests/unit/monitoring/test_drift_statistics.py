"""Each drift statistic against SciPy or its hand-computed value, on one or many columns."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from keel.monitoring import DriftDetector, ThresholdPolicy
from keel.monitoring.drift import STATISTICS, Histograms

REFERENCE = np.array([[120.0, 80.0, 40.0, 0.0], [10.0, 10.0, 10.0, 10.0]])
CURRENT = np.array([[100.0, 90.0, 30.0, 12.0], [8.0, 12.0, 10.0, 10.0]])


def test_psi_matches_its_formula_with_the_floor() -> None:
    r = REFERENCE[0] / REFERENCE[0].sum()
    c = CURRENT[0] / CURRENT[0].sum()
    r, c = np.maximum(r, 1e-4), np.maximum(c, 1e-4)
    expected = float(((c - r) * np.log(c / r)).sum())
    found = STATISTICS["psi"].compute(Histograms(REFERENCE, CURRENT))
    assert found[0] == pytest.approx(expected, rel=1e-12)


def test_jensen_shannon_matches_scipy_on_every_column() -> None:
    found = STATISTICS["js"].compute(Histograms(REFERENCE, CURRENT))
    expected = [jensenshannon(r, c, base=2) for r, c in zip(REFERENCE, CURRENT, strict=True)]
    assert found == pytest.approx(expected, rel=1e-12)


def test_chi_square_matches_scipy_with_empty_cells_left_out() -> None:
    reference = np.array([[50.0, 30.0, 0.0, 20.0]])
    current = np.array([[40.0, 35.0, 0.0, 25.0]])
    table = np.vstack((reference[0], current[0]))[:, [0, 1, 3]]
    expected = chi2_contingency(table, correction=False).statistic
    found = STATISTICS["chi2"].compute(Histograms(reference, current))
    assert found[0] == pytest.approx(expected, rel=1e-12)


def _report(reference: pl.DataFrame, current: pl.DataFrame) -> dict[str, dict[str, float]]:
    policy = ThresholdPolicy(method="fixed")
    report = DriftDetector(thresholds=policy).fit(reference).check(current)
    return {
        name: {s: r.value for s, r in column.statistics.items()}
        for name, column in report.columns.items()
    }


def test_grid_statistics_are_exact_when_every_value_is_an_edge() -> None:
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 40, 20_000).astype(np.float64)
    current = rng.integers(3, 45, 5_000).astype(np.float64)  # values beyond both ends too
    found = _report(pl.DataFrame({"x": reference}), pl.DataFrame({"x": current}))["x"]
    assert found["ks"] == pytest.approx(ks_2samp(reference, current).statistic, abs=1e-12)
    expected = wasserstein_distance(reference, current) / reference.std(ddof=1)
    assert found["wasserstein"] == pytest.approx(expected, rel=1e-9)


def test_grid_statistics_on_continuous_values_are_within_a_grid_bin() -> None:
    rng = np.random.default_rng(1)
    reference = rng.normal(0.0, 1.0, 50_000)
    current = rng.normal(0.3, 1.2, 10_000)
    found = _report(pl.DataFrame({"x": reference}), pl.DataFrame({"x": current}))["x"]
    assert found["ks"] == pytest.approx(ks_2samp(reference, current).statistic, abs=0.01)
    expected = wasserstein_distance(reference, current) / reference.std(ddof=1)
    assert found["wasserstein"] == pytest.approx(expected, rel=0.05)


def test_identical_tables_score_zero() -> None:
    rng = np.random.default_rng(2)
    frame = pl.DataFrame({"x": rng.normal(size=1000), "c": rng.choice(["a", "b"], 1000)})
    found = _report(frame, frame)
    assert all(
        v == pytest.approx(0.0, abs=1e-12) for column in found.values() for v in column.values()
    )


def test_one_call_scores_every_column_like_separate_calls() -> None:
    rng = np.random.default_rng(3)
    reference = pl.DataFrame({"a": rng.normal(size=3000), "b": rng.exponential(size=3000)})
    current = pl.DataFrame({"a": rng.normal(0.2, 1, 800), "b": rng.exponential(2, 800)})
    together = _report(reference, current)
    for name in ("a", "b"):
        alone = _report(reference.select(name), current.select(name))[name]
        assert alone == pytest.approx(together[name], rel=1e-12)


def test_unseen_category_makes_psi_large_but_finite() -> None:
    reference = pl.DataFrame({"c": ["a", "b"] * 500})
    current = pl.DataFrame({"c": ["a", "b", "z", "a"] * 250})
    psi = _report(reference, current)["c"]["psi"]
    assert math.isfinite(psi) and psi > 1.0
