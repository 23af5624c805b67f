"""The one place that maps a model kind to its implementation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keel.errors import InvalidInput
from keel.models.boosting import LightGBMEstimator
from keel.models.estimator import MODEL_KINDS, Estimator, Task
from keel.models.linear import LinearEstimator


def make_estimator(kind: str, task: Task, params: Mapping[str, Any], *, seed: int) -> Estimator:
    """A new, unfitted estimator of ``kind``."""
    if kind == "lightgbm":
        return LightGBMEstimator(task=task, params=dict(params), seed=seed)
    if kind in ("logistic", "linear"):
        expected = "binary" if kind == "logistic" else "regression"
        if task != expected:
            raise InvalidInput(
                f"model.kind '{kind}' is for {expected} targets; this project's target is {task}",
                path="model.kind",
                hint=f"use '{'logistic' if task == 'binary' else 'linear'}' or 'lightgbm'",
            )
        return LinearEstimator(task=task, params=dict(params), seed=seed)
    raise InvalidInput(
        f"model.kind must be one of {', '.join(MODEL_KINDS)}; got {kind!r}", path="model.kind"
    )


def load_estimator(kind: str, task: Task, data: bytes) -> Estimator:
    """A fitted estimator from the bytes ``to_bytes`` wrote."""
    if kind == "lightgbm":
        return LightGBMEstimator.from_bytes(data, task=task)
    if kind in ("logistic", "linear"):
        return LinearEstimator.from_bytes(data, task=task)
    raise InvalidInput(f"unknown model kind {kind!r} in a stored model", path="model.kind")
