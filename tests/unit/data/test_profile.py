from __future__ import annotations

import json

import numpy as np
import polars as pl

from keel.data import Profile, profile_frame


def _frame(n: int = 5000, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "x": rng.normal(10, 2, n),
            "k": rng.integers(0, 5, n),
            "c": rng.choice(["a", "b", "c"], n),
            "flag": rng.random(n) < 0.3,
        }
    )


def test_profile_round_trips_through_json() -> None:
    profile = profile_frame(_frame())
    assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile


def test_profile_is_deterministic() -> None:
    assert profile_frame(_frame()) == profile_frame(_frame())


def test_bin_counts_cover_every_finite_value() -> None:
    column = profile_frame(_frame()).columns["x"]
    assert sum(column.counts) == 5000
    assert len(column.counts) == len(column.edges) + 1


def test_reference_edges_are_reused() -> None:
    reference = profile_frame(_frame())
    shifted = _frame(seed=1).with_columns(pl.col("x") + 100)
    current = profile_frame(shifted, reference=reference)
    x = current.columns["x"]
    assert x.edges == reference.columns["x"].edges
    assert x.counts[-1] == 5000


def test_nan_and_null_are_counted_apart() -> None:
    frame = pl.DataFrame({"x": [1.0, None, float("nan"), float("inf"), 2.0]})
    column = profile_frame(frame).columns["x"]
    assert (column.null_count, column.non_finite, sum(column.counts)) == (1, 2, 2)


def test_top_categories_by_frequency() -> None:
    frame = pl.DataFrame({"c": ["b", "a", "b", "c", "b", "a"]})
    assert profile_frame(frame).columns["c"].top == (("b", 3), ("a", 2), ("c", 1))


def test_quantiles_and_median() -> None:
    frame = pl.DataFrame({"x": [float(i) for i in range(101)]})
    column = profile_frame(frame).columns["x"]
    assert column.median == 50.0
    assert column.quantiles["0.99"] == 99.0
