"""The public surface of keel.evaluation: names, directions and an honest __all__."""

from __future__ import annotations

import types

import pytest

import keel.evaluation
from keel.evaluation import METRICS, get_metric

EXPECTED = {
    "roc_auc": ("binary", True),
    "pr_auc": ("binary", True),
    "log_loss": ("binary", False),
    "brier": ("binary", False),
    "ece": ("binary", False),
    "accuracy": ("binary", True),
    "f1": ("binary", True),
    "precision": ("binary", True),
    "recall": ("binary", True),
    "rmse": ("regression", False),
    "mae": ("regression", False),
    "r2": ("regression", True),
}


def test_metric_names_kinds_and_directions_are_stable() -> None:
    assert {name: (m.kind, m.higher_is_better) for name, m in METRICS.items()} == EXPECTED


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        METRICS["auc"] = METRICS["roc_auc"]  # type: ignore[index]


def test_get_metric_returns_the_registered_metric() -> None:
    assert get_metric("brier") is METRICS["brier"]


def test_improvement_points_towards_better() -> None:
    assert get_metric("roc_auc").improvement(0.02) == 0.02
    assert get_metric("log_loss").improvement(-0.02) == 0.02


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(keel.evaluation).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(keel.evaluation.__all__) == public
    assert all(hasattr(keel.evaluation, name) for name in keel.evaluation.__all__)
