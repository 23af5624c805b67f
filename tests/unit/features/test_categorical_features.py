"""Categorical features: kept levels, __other__, unseen levels, native codes and one-hot."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from keel.features import CategoricalState, FeaturePipeline

Build = Callable[..., FeaturePipeline]

NAN = math.nan
TRAIN = pl.DataFrame({"c": ["b", "a", "b", "a", "z", "a"]})
"""a: 3, b: 2, z: 1 of 6 rows."""
LATER = pl.DataFrame({"c": ["a", "b", "z", "new", None]})


@pytest.mark.parametrize(
    ("categorical", "levels"),
    [
        ({"min_frequency": 0.0}, ("a", "b", "z")),
        ({"min_frequency": 0.3}, ("a", "b")),
        ({"min_frequency": 0.4}, ("a",)),
        ({"min_frequency": 0.0, "max_levels": 2}, ("a", "b")),
    ],
    ids=["all", "min-frequency-keeps-2", "min-frequency-keeps-1", "max-levels"],
)
def test_levels_are_kept_by_frequency(
    build: Build, categorical: dict[str, float], levels: tuple[str, ...]
) -> None:
    pipeline = build({"c": "categorical"}, categorical=categorical).fit(TRAIN)
    assert pipeline.categorical_ == (CategoricalState("c", levels),)


def test_frequency_ties_are_broken_by_name(build: Build) -> None:
    frame = pl.DataFrame({"c": ["y", "x", "y", "x", "w"]})
    pipeline = build({"c": "categorical"}, categorical={"min_frequency": 0.0}).fit(frame)
    assert pipeline.categorical_[0].levels == ("x", "y", "w")


@pytest.mark.parametrize(
    ("unseen", "codes"),
    [("other", [0.0, 1.0, 2.0, 2.0, NAN]), ("missing", [0.0, 1.0, 2.0, NAN, NAN])],
    ids=["unseen-other", "unseen-missing"],
)
def test_native_codes_for_unseen_levels(build: Build, unseen: str, codes: list[float]) -> None:
    """'z' was folded in training, so it is __other__ either way; 'new' was never seen."""
    pipeline = build(
        {"c": "categorical"}, categorical={"min_frequency": 0.3, "unseen": unseen}
    ).fit(TRAIN)
    matrix = pipeline.transform(LATER)
    assert matrix.names == ("c",)
    assert matrix.categorical == (0,)
    np.testing.assert_array_equal(matrix.values[:, 0], codes)


@pytest.mark.parametrize(
    ("unseen", "new_row"),
    [("other", [0.0, 0.0, 1.0]), ("missing", [0.0, 0.0, 0.0])],
    ids=["unseen-other", "unseen-missing"],
)
def test_onehot_for_unseen_levels(build: Build, unseen: str, new_row: list[float]) -> None:
    pipeline = build(
        {"c": "categorical"},
        "logistic",
        categorical={"min_frequency": 0.3, "unseen": unseen},
    ).fit(TRAIN)
    matrix = pipeline.transform(LATER)
    assert matrix.names == ("c=a", "c=b", "c=__other__")
    expected = [[1, 0, 0], [0, 1, 0], [0, 0, 1], new_row, [0, 0, 0]]
    np.testing.assert_array_equal(matrix.values, expected)
    assert set(matrix.source_columns.values()) == {"c"}


@pytest.mark.parametrize("model_kind", ["lightgbm", "logistic"])
def test_all_missing_categorical_keeps_only_other(build: Build, model_kind: str) -> None:
    train = pl.DataFrame({"c": pl.Series([None, None], dtype=pl.String), "n": [1.0, 2.0]})
    pipeline = build({"c": "categorical", "n": "numeric"}, model_kind).fit(train)
    assert pipeline.categorical_[0].levels == ()
    values = pipeline.transform(pl.DataFrame({"c": ["q", None], "n": [1.0, 2.0]})).values
    if model_kind == "lightgbm":
        np.testing.assert_array_equal(values[:, 1], [0.0, NAN])
    else:
        assert pipeline.feature_names_[-1] == "c=__other__"
        np.testing.assert_array_equal(values[:, -1], [1.0, 0.0])


@pytest.mark.parametrize("rare", [10, 1500], ids=["few-folded", "many-folded"])
def test_folded_levels_stay_other_with_unseen_missing(build: Build, rare: int) -> None:
    """Past ARROW_MAX_LEVELS known levels the codes take another read path; same codes."""
    train = pl.DataFrame({"c": ["a"] * (4 * rare) + [f"r{i}" for i in range(rare)]})
    pipeline = build(
        {"c": "categorical"}, categorical={"min_frequency": 0.5, "unseen": "missing"}
    ).fit(train)
    assert len(pipeline.categorical_[0].folded) == rare
    later = pl.DataFrame({"c": ["a", "r7", "never", None]})
    np.testing.assert_array_equal(pipeline.transform(later).values[:, 0], [0.0, 1.0, NAN, NAN])


def test_a_literal_other_value_is_folded_not_kept(build: Build) -> None:
    frame = pl.DataFrame({"c": ["__other__", "__other__", "a"]})
    pipeline = build({"c": "categorical"}, categorical={"min_frequency": 0.0}).fit(frame)
    assert pipeline.categorical_[0].levels == ("a",)
    np.testing.assert_array_equal(pipeline.transform(frame).values[:, 0], [1.0, 1.0, 0.0])


def test_onehot_rows_are_exact_across_chunks(build: Build) -> None:
    """20k rows cross several transform chunks; each row has its one 1 in the right place."""
    rng = np.random.default_rng(3)
    levels = np.array(["a", "b", "c", "d"], dtype=object)
    raw = levels[rng.integers(0, 4, 20_000)]
    raw[rng.random(20_000) < 0.1] = None
    frame = pl.DataFrame({"c": pl.Series(raw.tolist(), dtype=pl.String)})
    pipeline = build({"c": "categorical"}, "logistic", categorical={"min_frequency": 0.0})
    matrix = pipeline.fit_transform(frame)
    codes = {name.removeprefix("c="): j for j, name in enumerate(matrix.names)}
    expected = np.zeros_like(matrix.values)
    for row, value in enumerate(raw):
        if value is not None:
            expected[row, codes[value]] = 1.0
    np.testing.assert_array_equal(matrix.values, expected)
