"""evaluate: point estimates with percentile bootstrap intervals that cover the truth."""

from __future__ import annotations

from collections.abc import Callable
from math import sqrt

import numpy as np
import numpy.typing as npt
import pytest
from scipy.stats import norm

from keel.errors import InvalidInput
from keel.evaluation import METRICS, Estimate, evaluate
from keel.evaluation.resampling import BLOCK_CELLS, block_sizes, counts

F64 = npt.NDArray[np.float64]
Make = Callable[..., tuple[F64, F64, F64]]


def _two_normals(n: int, shift: float, seed: int) -> tuple[F64, F64]:
    """Half negatives scored N(0, 1), half positives N(shift, 1): AUC = Phi(shift / sqrt 2)."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0.0, 1.0], n // 2)
    return y, rng.normal(size=y.size) + shift * y


def test_roc_auc_interval_covers_the_population_auc() -> None:
    shift = 1.0
    truth = float(norm.cdf(shift / sqrt(2)))
    hits = 0
    for seed in range(100):
        y, s = _two_normals(300, shift, seed)
        auc = evaluate(y, s, ["roc_auc"], resamples=400, seed=seed)["roc_auc"]
        assert auc.low is not None and auc.high is not None
        hits += auc.low <= truth <= auc.high
    assert 90 <= hits <= 99


def test_interval_brackets_the_point_estimate(make_binary: Make) -> None:
    y, s, _ = make_binary(800, seed=1)
    for estimate in evaluate(y, s, list(METRICS)[:9], resamples=200).values():
        assert estimate.low is not None and estimate.high is not None
        assert estimate.low <= estimate.value <= estimate.high
        assert (estimate.n, estimate.resamples) == (800, 200)


def test_wider_confidence_gives_a_wider_interval(make_binary: Make) -> None:
    y, s, _ = make_binary(500, seed=1)
    narrow = evaluate(y, s, ["brier"], resamples=300, confidence=0.5)["brier"]
    wide = evaluate(y, s, ["brier"], resamples=300, confidence=0.99)["brier"]
    assert wide.low < narrow.low < narrow.high < wide.high  # type: ignore[operator]


def test_same_seed_same_result_other_seed_other_interval(make_binary: Make) -> None:
    y, s, _ = make_binary(500, seed=1)
    first = evaluate(y, s, ["roc_auc", "ece"], resamples=100, seed=3)
    assert evaluate(y, s, ["roc_auc", "ece"], resamples=100, seed=3) == first
    other = evaluate(y, s, ["roc_auc", "ece"], resamples=100, seed=4)
    assert other["roc_auc"].value == first["roc_auc"].value
    assert other["roc_auc"].low != first["roc_auc"].low


def test_result_does_not_depend_on_row_order(make_binary: Make) -> None:
    """Rows are put in label-then-score order first, so a shuffle changes nothing at all."""
    y, s, _ = make_binary(500, seed=1, ties=True)
    shuffle = np.random.default_rng(0).permutation(y.size)
    names = ["roc_auc", "pr_auc", "log_loss", "ece", "f1"]
    assert evaluate(y, s, names, resamples=50) == evaluate(
        y[shuffle], s[shuffle], names, resamples=50
    )


def test_integer_weights_equal_repeated_rows(make_binary: Make) -> None:
    y, s, w = make_binary(300, seed=2, ties=True)
    names = ["roc_auc", "pr_auc", "log_loss", "ece", "accuracy"]
    weighted = evaluate(y, s, names, weights=w, resamples=0)
    repeated = evaluate(
        np.repeat(y, w.astype(int)), np.repeat(s, w.astype(int)), names, resamples=0
    )
    for name in names:
        assert weighted[name].value == pytest.approx(repeated[name].value, rel=1e-12)


def test_weights_shape_the_interval_too(make_binary: Make) -> None:
    y, s, w = make_binary(300, seed=2)
    plain = evaluate(y, s, ["brier"], resamples=100)["brier"]
    weighted = evaluate(y, s, ["brier"], resamples=100, weights=w)["brier"]
    assert weighted.value != plain.value
    assert weighted.low is not None and weighted.low <= weighted.value <= weighted.high  # type: ignore[operator]


def test_no_resamples_means_no_interval(make_binary: Make) -> None:
    y, s, _ = make_binary(100, seed=1)
    assert evaluate(y, s, ["roc_auc"], resamples=0)["roc_auc"] == Estimate(
        METRICS["roc_auc"].score(y, s), None, None, 100, 0, "none"
    )


def test_resamples_missing_a_class_are_left_out() -> None:
    """Two positives in 60 rows: about 1 resample in 8 draws none, and AUC is undefined there."""
    y = np.zeros(60)
    y[[5, 40]] = 1.0
    s = np.linspace(0.0, 1.0, 60)
    auc = evaluate(y, s, ["roc_auc"], resamples=400)["roc_auc"]
    assert 300 < auc.resamples < 400
    assert auc.low is not None


def test_undefined_point_estimate_raises() -> None:
    with pytest.raises(InvalidInput, match="roc_auc is undefined: it needs rows of both classes"):
        evaluate([1, 1, 1], [0.1, 0.5, 0.7], ["brier", "roc_auc"])


def test_validation_reports_rows_in_the_callers_order() -> None:
    """Rows are reordered internally; the error must still name the row the caller sent."""
    with pytest.raises(InvalidInput) as caught:
        evaluate([1, 0, 1, 0], [0.9, 0.1, 1.2, 0.3], ["roc_auc", "brier"])
    assert caught.value.path == "y_score[2]"


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"metrics": ["roc_auc", "auc"]}, "metrics[1]"),
        ({"metrics": "roc_auc"}, "metrics"),
        ({"metrics": []}, "metrics"),
        ({"confidence": 1.0}, "confidence"),
        ({"confidence": 0.0}, "confidence"),
        ({"resamples": -1}, "resamples"),
        ({"weights": [1.0, 2.0]}, "weights"),
    ],
    ids=[
        "unknown-metric",
        "bare-string",
        "no-metrics",
        "confidence-1",
        "confidence-0",
        "negative-resamples",
        "short-weights",
    ],
)
def test_bad_options(kwargs: dict[str, object], path: str) -> None:
    arguments: dict[str, object] = {"metrics": ["roc_auc"], **kwargs}
    with pytest.raises(InvalidInput) as caught:
        evaluate([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6], **arguments)  # type: ignore[arg-type]
    assert caught.value.path == path


def test_estimate_to_dict() -> None:
    assert Estimate(0.8, 0.7, 0.9, 100, 1000, "bootstrap").to_dict() == {
        "value": 0.8,
        "low": 0.7,
        "high": 0.9,
        "n": 100,
        "resamples": 1000,
        "method": "bootstrap",
    }


@pytest.mark.parametrize("rows", [10, 200_000, 1_000_000], ids=["small", "200k", "1M"])
def test_blocks_keep_memory_bounded(rows: int) -> None:
    sizes = block_sizes(1000, rows)
    assert sum(sizes) == 1000
    assert max(sizes) * rows <= max(BLOCK_CELLS, rows)


def test_counts_are_bootstrap_draws() -> None:
    drawn = counts(np.random.default_rng(0), 300, 50)
    assert drawn.shape == (300, 50)
    assert (drawn.sum(axis=1) == 50).all()
    assert drawn.mean() == pytest.approx(1.0)
    assert drawn.var() == pytest.approx(1 - 1 / 50, rel=0.05)
