"""Bad or degenerate input gives an InvalidInput that says what was expected and what arrived."""

from __future__ import annotations

import numpy as np
import pytest

from keel.errors import InvalidInput
from keel.evaluation import METRICS, MetricParams, get_metric

BINARY = [name for name, metric in METRICS.items() if metric.kind == "binary"]
PROBABILISTIC = [name for name, metric in METRICS.items() if metric.needs_probabilities]


@pytest.mark.parametrize(
    ("name", "y", "s", "words"),
    [
        ("roc_auc", [1, 1, 1], [0.2, 0.4, 0.9], "3 of class 1, 0 of class 0"),
        ("roc_auc", [0, 0], [0.2, 0.4], "both classes"),
        ("pr_auc", [0, 0, 0], [0.2, 0.4, 0.9], "class 1"),
        ("recall", [0, 0], [0.7, 0.9], "class 1"),
        ("precision", [0, 1], [0.1, 0.2], "threshold"),
        ("f1", [0, 0], [0.1, 0.2], "no row predicted positive"),
        ("r2", [3.0, 3.0, 3.0], [1.0, 2.0, 3.0], "constant"),
    ],
    ids=[
        "auc-positives-only",
        "auc-negatives-only",
        "ap-no-positive",
        "recall-no-positive",
        "precision-none-predicted",
        "f1-nothing",
        "r2-constant",
    ],
)
def test_undefined_metric_says_why(name: str, y: list[float], s: list[float], words: str) -> None:
    with pytest.raises(InvalidInput, match=f"{name} is undefined") as caught:
        METRICS[name].score(y, s)
    assert words in caught.value.message
    assert caught.value.path == "y_true"


@pytest.mark.parametrize("name", ["log_loss", "brier", "accuracy"], ids=str)
def test_single_class_is_fine_where_defined(name: str) -> None:
    assert np.isfinite(METRICS[name].score([1, 1, 1], [0.6, 0.9, 0.8]))


@pytest.mark.parametrize(
    ("y", "s", "path"),
    [
        ([0, 1, 0], [0.1, np.nan, 0.3], "y_score[1]"),
        ([0, 1, 0], [0.1, 0.2, np.inf], "y_score[2]"),
        ([0, np.nan, 0], [0.1, 0.2, 0.3], "y_true[1]"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "y_true[1]"),
        ([], [], "y_true"),
        ([0, 1, 0], [0.1, 0.2], "y_score"),
        ([[0, 1]], [[0.1, 0.2]], "y_true"),
        (["no", "yes"], [0.1, 0.2], "y_true"),
    ],
    ids=[
        "nan-score",
        "inf-score",
        "nan-label",
        "label-2",
        "empty",
        "length-mismatch",
        "2-d",
        "text-labels",
    ],
)
@pytest.mark.parametrize("name", BINARY, ids=str)
def test_bad_binary_input_names_the_field(
    name: str, y: list[float], s: list[float], path: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        METRICS[name].score(y, s)
    assert caught.value.path == path


@pytest.mark.parametrize("name", PROBABILISTIC, ids=str)
@pytest.mark.parametrize("bad", [1.5, -0.1], ids=["above-1", "below-0"])
def test_probability_metrics_reject_scores_outside_0_1(name: str, bad: float) -> None:
    with pytest.raises(
        InvalidInput, match=f"probabilities in \\[0, 1\\]; row 2 of y_score is {bad}"
    ) as caught:
        METRICS[name].score([0, 1, 1], [0.1, 0.2, bad])
    assert caught.value.path == "y_score[2]"


def test_mismatch_message_says_both_lengths() -> None:
    with pytest.raises(InvalidInput, match=r"one entry per row of y_true \(3\); got 2"):
        METRICS["rmse"].score([1.0, 2.0, 3.0], [1.0, 2.0])


@pytest.mark.parametrize(
    ("weights", "path"),
    [([1.0, -1.0, 1.0], "weights[1]"), ([0.0, 0.0, 0.0], "weights"), ([1.0, 1.0], "weights")],
    ids=["negative", "all-zero", "wrong-length"],
)
def test_bad_weights(weights: list[float], path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        METRICS["brier"].score([0, 1, 1], [0.1, 0.2, 0.3], weights=weights)
    assert caught.value.path == path


def test_unknown_metric_lists_the_valid_names() -> None:
    with pytest.raises(
        InvalidInput, match="unknown metric 'auc'; expected one of: roc_auc, pr_auc"
    ):
        get_metric("auc")


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"bins": 0}, "bins"),
        ({"bins": 2.5}, "bins"),
        ({"binning": "log"}, "binning"),
        ({"threshold": float("nan")}, "threshold"),
    ],
    ids=["zero-bins", "fractional-bins", "unknown-binning", "nan-threshold"],
)
def test_bad_params(kwargs: dict[str, object], path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        MetricParams(**kwargs)  # type: ignore[arg-type]
    assert caught.value.path == path
