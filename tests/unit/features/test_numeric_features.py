"""Numeric features: imputation, indicators, clipping, log, standardization, derived features."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from keel.features import FeaturePipeline

Build = Callable[..., FeaturePipeline]

NAN = math.nan


def test_lightgbm_matrix_of_the_small_frame(build: Build, small: pl.DataFrame) -> None:
    """Median 2.5 fills x's gap; only x gets an indicator; c keeps 'a' (code 0), others 1."""
    pipeline = build(numeric={"clip_quantiles": None}, categorical={"min_frequency": 0.25})
    matrix = pipeline.fit(small).transform(small)
    assert matrix.names == ("x", "n", "x__missing", "c")
    assert matrix.categorical == (3,)
    expected = [
        [1.0, 10.0, 0.0, 0.0],
        [2.0, 20.0, 0.0, 0.0],
        [3.0, 30.0, 0.0, 1.0],
        [4.0, 40.0, 0.0, NAN],
        [2.5, 50.0, 1.0, 1.0],
    ]
    np.testing.assert_array_equal(matrix.values, expected)
    assert matrix.values.dtype == np.float64
    assert matrix.values.flags.f_contiguous  # whole columns: LightGBM reads it as is


def test_logistic_matrix_of_the_small_frame(build: Build, small: pl.DataFrame) -> None:
    """x filled is [1, 2, 3, 4, 2.5]: mean 2.5, std 1; n is 10..50: mean 30, std sqrt(200)."""
    pipeline = build(
        model_kind="logistic", numeric={"clip_quantiles": None}, categorical={"min_frequency": 0.25}
    )
    matrix = pipeline.fit_transform(small)
    assert matrix.names == ("x", "n", "x__missing", "c=a", "c=__other__")
    assert matrix.categorical == ()
    r = 1 / math.sqrt(2)
    expected = [
        [-1.5, -2 * r, 0.0, 1.0, 0.0],
        [-0.5, -r, 0.0, 1.0, 0.0],
        [0.5, 0.0, 0.0, 0.0, 1.0],
        [1.5, r, 0.0, 0.0, 0.0],
        [0.0, 2 * r, 1.0, 0.0, 1.0],
    ]
    np.testing.assert_allclose(matrix.values, expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("impute", "fill"),
    [("median", 2.0), ("mean", 4.0), ("zero", 0.0)],
    ids=["median", "mean", "zero"],
)
def test_impute_fills_gaps_with_the_learned_value(build: Build, impute: str, fill: float) -> None:
    frame = pl.DataFrame({"x": [1.0, 2.0, 9.0, None]})
    pipeline = build({"x": "numeric"}, numeric={"impute": impute, "clip_quantiles": None})
    matrix = pipeline.fit_transform(frame)
    np.testing.assert_array_equal(matrix.values[:, 0], [1.0, 2.0, 9.0, fill])
    assert pipeline.numeric_[0].fill == fill


def test_impute_none_leaves_nan_for_lightgbm(build: Build) -> None:
    frame = pl.DataFrame({"x": [1.0, None, 3.0]})
    pipeline = build({"x": "numeric"}, numeric={"impute": "none", "clip_quantiles": None})
    values = pipeline.fit_transform(frame).values
    np.testing.assert_array_equal(values, [[1.0, 0.0], [NAN, 1.0], [3.0, 0.0]])


def test_no_indicator_when_switched_off(build: Build, small: pl.DataFrame) -> None:
    pipeline = build(numeric={"missing_indicator": False})
    assert "x__missing" not in pipeline.fit(small).feature_names_


def test_clip_bounds_are_training_quantiles(build: Build) -> None:
    """Quantiles 0.1 and 0.9 of 0..100 are 10 and 90; later values are clipped to them."""
    train = pl.DataFrame({"x": [float(v) for v in range(101)]})
    pipeline = build({"x": "numeric"}, numeric={"clip_quantiles": [0.1, 0.9]}).fit(train)
    assert (pipeline.numeric_[0].low, pipeline.numeric_[0].high) == (10.0, 90.0)
    later = pl.DataFrame({"x": [-5.0, 50.0, 1000.0]})
    np.testing.assert_array_equal(pipeline.transform(later).values[:, 0], [10.0, 50.0, 90.0])


def test_boolean_columns_are_never_clipped(build: Build) -> None:
    """A rare flag (1 in 2000) would be clipped away by the 0.999 quantile; it must survive."""
    train = pl.DataFrame({"flag": [True] + [False] * 1999})
    pipeline = build({"flag": "numeric"}).fit(train)
    assert pipeline.transform(train.head(1)).values[0, 0] == 1.0


def test_log_is_signed_and_comes_before_impute(build: Build) -> None:
    """sign(x) * log1p(|x|): -3 -> -log 4, 0 -> 0, e-1 -> 1; the gap gets the logged median."""
    frame = pl.DataFrame({"x": [-3.0, 0.0, math.e - 1, None]})
    pipeline = build({"x": "numeric"}, numeric={"log": ["x"], "clip_quantiles": None})
    values = pipeline.fit_transform(frame).values[:, 0]
    np.testing.assert_allclose(values, [-math.log(4), 0.0, 1.0, 0.0], rtol=1e-15, atol=0)


@pytest.mark.parametrize(
    "column",
    [pl.Series("x", [None, None, None], dtype=pl.Float64), pl.Series("x", [None, None, None])],
    ids=["float64-nulls", "null-dtype"],
)
@pytest.mark.parametrize("model_kind", ["lightgbm", "logistic"])
def test_all_missing_numeric_column_imputes_zero_without_indicator(
    build: Build, column: pl.Series, model_kind: str
) -> None:
    frame = pl.DataFrame([column, pl.Series("n", [1.0, 2.0, 3.0])])
    pipeline = build({"x": "numeric", "n": "numeric"}, model_kind).fit(frame)
    assert pipeline.feature_names_ == ("x", "n")
    later = pl.DataFrame({"x": [None, 7.0], "n": [1.0, 2.0]})
    matrix = pipeline.transform(later)
    assert matrix.values[0, 0] == 0.0
    assert not np.isnan(matrix.values).any()


def test_derived_division_by_zero_is_missing_then_imputed(build: Build) -> None:
    """a / b = [0.5, inf, NaN, 1.0]: inf and NaN are missing, filled with median(0.5, 1) = 0.75."""
    frame = pl.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 0.0, None, 4.0]})
    pipeline = build(
        {"a": "numeric", "b": "numeric"},
        numeric={"clip_quantiles": None},
        derived={"ratio": "a / b"},
    )
    matrix = pipeline.fit_transform(frame)
    assert matrix.names == ("a", "b", "ratio", "b__missing", "ratio__missing")
    np.testing.assert_array_equal(matrix.values[:, 2], [0.5, 0.75, 0.75, 1.0])
    np.testing.assert_array_equal(matrix.values[:, 4], [0.0, 1.0, 1.0, 0.0])
    assert matrix.source_columns["ratio"] == "ratio"
    assert matrix.source_columns["b__missing"] == "b"


def test_derived_feature_reads_raw_inputs_and_can_be_logged(build: Build) -> None:
    """The expression sees the unlogged, unclipped input; log then applies to its result."""
    frame = pl.DataFrame({"a": [0.0, 3.0, -3.0]})
    pipeline = build(
        {"a": "numeric"},
        numeric={"log": ["a", "twice"], "clip_quantiles": None},
        derived={"twice": "max(a, 0) + min(a, 0, 1) + a + 0 * abs(a)"},
    )
    values = pipeline.fit_transform(frame).values
    # max(a, 0) + min(a, 0) = a, and min(a, 0, 1) = min(a, 0): the expression is 2a
    np.testing.assert_allclose(values[:, 1], np.sign([0, 6, -6]) * np.log1p([0, 6, 6]))


def test_infinite_inputs_are_missing(build: Build) -> None:
    frame = pl.DataFrame({"x": [1.0, math.inf, -math.inf, 3.0]})
    pipeline = build({"x": "numeric"}, numeric={"clip_quantiles": None})
    values = pipeline.fit_transform(frame).values
    np.testing.assert_array_equal(values, [[1.0, 0.0], [2.0, 1.0], [2.0, 1.0], [3.0, 0.0]])


@pytest.mark.parametrize("rows", [1, 2, 3, 1000, 1001])
def test_clip_bounds_and_median_match_numpy(build: Build, rows: int) -> None:
    """One partition finds the clip bounds and the median; they are NumPy's quantiles (linear
    method) and the median of the clipped values, gaps left out."""
    values = np.random.default_rng(rows).lognormal(size=rows)
    values[1::7] = np.nan
    train = pl.DataFrame({"x": values})
    state = build({"x": "numeric"}, numeric={"clip_quantiles": [0.01, 0.99]}).fit(train).numeric_[0]
    observed = values[~np.isnan(values)]
    low, high = np.quantile(observed, [0.01, 0.99])
    np.testing.assert_allclose([state.low, state.high], [low, high], rtol=1e-12)
    assert state.fill == np.median(np.clip(observed, state.low, state.high))
