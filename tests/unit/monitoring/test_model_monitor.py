"""``ModelMonitor``, the Python API of ``keel monitor file``: roles of columns, and a regression
chunk with its labels measured as well as estimated."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from keel.errors import InvalidInput
from keel.features.errors import NotFittedError
from keel.monitoring.standalone import ModelMonitor, find_identifiers


def regression(rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pl.DataFrame(
        {
            "order": np.arange(rows, 0, -1),  # a descending sequence is an identifier too
            "x": x,
            "kind": rng.choice(["a", "b"], rows),
            "predicted": 2 * x,
            "actual": 2 * x + (0.3 + 0.7 * np.abs(x)) * rng.normal(size=rows),
        }
    )


def test_a_labelled_regression_chunk_is_estimated_and_measured() -> None:
    monitor = ModelMonitor(prediction="predicted", label="actual").fit(regression(1500, 1))
    assert monitor.task_ == "regression"
    assert monitor.skipped_["order"].startswith("an identifier")
    chunk = regression(800, 2)
    found = monitor.check(chunk, "week 1")
    assert found.estimated is not None and found.realized is not None
    truth = float((chunk["actual"] - chunk["predicted"]).abs().mean())
    assert found.realized.metrics["mae"].value == pytest.approx(truth)
    estimate = found.estimated.metrics["mae"]
    assert estimate.low <= truth <= estimate.high
    assert set(found.realized.metrics) == {"mae", "rmse"}


def test_named_columns_are_left_out_and_unknown_ones_refused() -> None:
    frame = regression(300, 3)
    monitor = ModelMonitor(ignore=("kind",)).fit(frame)
    assert monitor.skipped_["kind"] == "named in --ignore"
    assert "kind" not in monitor.profile_.columns
    with pytest.raises(InvalidInput, match="--label: the reference has no column 'y'"):
        ModelMonitor(label="y").fit(frame)
    with pytest.raises(NotFittedError):
        ModelMonitor().check(frame)


def test_identifiers_are_unique_monotonic_whole_numbers_only() -> None:
    frame = pl.DataFrame(
        {
            "id": [3, 4, 5, 9],
            "float_id": [1.0, 2.0, 3.0, 4.0],
            "measure": [0.5, 1.5, 2.5, 3.5],  # unique and sorted, not whole
            "repeated": [1, 1, 2, 3],
            "shuffled": [2, 1, 4, 3],
        }
    )
    assert find_identifiers(frame) == ["id", "float_id"]


def test_rows_without_the_models_output_are_left_out_of_performance() -> None:
    rng = np.random.default_rng(4)
    p = rng.random(1200)
    frame = pl.DataFrame({"x": rng.normal(size=1200), "p": p, "y": (rng.random(1200) < p) * 1})
    monitor = ModelMonitor(score="p", label="y").fit(frame)
    holed = frame.with_columns(
        pl.when(pl.col("x") > 1).then(None).otherwise(pl.col("p")).alias("p")
    )
    found = monitor.check(holed)
    assert found.estimated is not None and found.realized is not None
    kept = holed["p"].is_not_null().sum()
    assert found.estimated.rows == kept and found.realized.rows == kept
    assert "quality p missing" in found.alerts


def test_stationary_chunks_alert_about_as_rarely_as_stated() -> None:
    """Known truth: 40 stationary chunks of an outside model. Drift is at 1% per chunk (over
    all columns) and each estimated metric at 1%: expected about 0.4 chunks alerting on drift
    and 0.4 on each metric; more than 3 would be a broken threshold (p < 0.001)."""
    from tests.unit.app.test_standalone_monitor import outside

    monitor = ModelMonitor(score="score", label="outcome", prediction="flagged")
    monitor.fit(outside(4000, seed=50))
    drift = quality = estimated = 0
    for seed in range(40):
        found = monitor.check(outside(500, seed=60 + seed, first=4000 + 500 * seed).drop("outcome"))
        drift += bool(found.drift.drifted_columns)
        quality += bool(found.quality.alerts)
        estimated += bool(found.estimated is not None and found.estimated.alerts)
    assert drift <= 3 and estimated <= 3 and quality <= 3, (drift, estimated, quality)
