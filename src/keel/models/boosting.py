"""LightGBM for binary classification and regression, deterministic and stored as its own text.

Determinism: ``deterministic``, ``force_row_wise``, a fixed thread count and every seed derived
from the run's seed, so that the same data, parameters and seed give a byte-identical model text.
Explanations are LightGBM's own TreeSHAP (``pred_contrib``).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

import lightgbm as lgb
import numpy as np

from keel.errors import InvalidInput
from keel.features.errors import NotFittedError
from keel.models.estimator import F64, ModelKind, Task, check_matrix

SMALL_BATCH = 256  # rows below which prediction runs on one thread
SMALL_EXPLAIN_BATCH = 4
"""Rows below which TreeSHAP runs on one thread. A row of it costs about a hundred predictions
(1.5 ms against 12 us for 300 trees of 31 leaves), so a few rows already outweigh waking a worker:
a run's 200 importance rows take half as long on two threads."""

DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "n_estimators": 400,
    "min_child_samples": 20,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "bagging_freq": 0,
    "lambda_l2": 0.0,
    "max_bin": 255,
    "num_threads": 2,
}
"""Parameters Keel sets unless keel.yaml says otherwise; a run records the merged set."""

_FIXED = {"deterministic": True, "force_row_wise": True, "verbosity": -1}
_SOURCE_LOCATION = re.compile(r"\s+at \S+, line \d+\s*\.?")


class _Silent:
    """LightGBM logs through Python; Keel reports its errors itself, as one clear line."""

    def info(self, message: str) -> None:
        del message

    def warning(self, message: str) -> None:
        del message


lgb.register_logger(_Silent())


@contextmanager
def _native_fatal_quieted() -> Iterator[None]:
    """LightGBM's C++ core prints '[LightGBM] [Fatal] ...' to the stderr file descriptor before
    raising; Keel reports the same error as one line, so that copy is dropped. Anything else
    written to stderr meanwhile is passed on afterwards."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode(errors="replace").splitlines(keepends=True)
                if not line.startswith("[LightGBM]")
            ]
            if kept:
                sys.stderr.write("".join(kept))


class LightGBMEstimator:
    """Gradient-boosted trees; ``params`` are LightGBM's, ``n_estimators`` is the round count."""

    kind: ModelKind = "lightgbm"

    def __init__(self, *, task: Task, params: dict[str, Any], seed: int) -> None:
        self.task = task
        self.params = params
        self.seed = seed
        self.booster_: lgb.Booster | None = None

    def get_params(self) -> dict[str, Any]:
        return {**DEFAULTS, **self.params, "seed": self.seed}

    def _train_params(self) -> tuple[dict[str, Any], int]:
        merged = self.get_params()
        rounds = int(merged.pop("n_estimators"))
        if rounds < 1:
            raise InvalidInput(
                f"n_estimators must be at least 1; got {rounds}", path="model.params"
            )
        objective = "binary" if self.task == "binary" else "regression"
        return {**merged, **_FIXED, "objective": objective}, rounds

    def fit(
        self,
        x: F64,
        y: F64,
        *,
        names: Sequence[str],
        categorical: Sequence[int] = (),
        weights: F64 | None = None,
    ) -> Self:
        check_matrix(x, y)
        params, rounds = self._train_params()
        data = lgb.Dataset(
            x,
            label=y,
            weight=weights,
            feature_name=[_safe_name(n) for n in names],
            categorical_feature=list(categorical),
            free_raw_data=True,
            params={"max_bin": params["max_bin"], "verbosity": -1},
        )
        try:
            with _native_fatal_quieted():  # the Dataset is built here too, lazily
                self.booster_ = lgb.train(params, data, num_boost_round=rounds)
        except lgb.basic.LightGBMError as exc:
            reason = _SOURCE_LOCATION.sub("", str(exc).strip().splitlines()[0])
            raise InvalidInput(
                f"LightGBM refused the parameters: {reason}", path="model.params"
            ) from exc
        return self

    def _booster(self) -> lgb.Booster:
        if self.booster_ is None:
            raise NotFittedError("LightGBMEstimator")
        return self.booster_

    def _threads(self, rows: int | None = None, *, small: int = SMALL_BATCH) -> int:
        """The configured thread count (rows are independent, so any count gives the same
        values), but one thread below ``small`` rows: waking OpenMP workers costs more than it
        saves, and on a busy machine a descheduled worker stalls the call by milliseconds."""
        if rows is not None and rows < small:
            return 1
        return int(self.get_params()["num_threads"])

    def predict(self, x: F64) -> F64:
        check_matrix(x)
        threads = self._threads(x.shape[0])
        return np.asarray(self._booster().predict(x, num_threads=threads), dtype=np.float64)

    def contributions(self, x: F64) -> F64:
        check_matrix(x)
        threads = self._threads(x.shape[0], small=SMALL_EXPLAIN_BATCH)
        raw = self._booster().predict(x, pred_contrib=True, num_threads=threads)
        return np.asarray(raw, dtype=np.float64)

    def importance(self) -> F64:
        gains = self._booster().feature_importance(importance_type="gain")
        return np.asarray(gains, dtype=np.float64)

    def to_bytes(self) -> bytes:
        return self._booster().model_to_string().encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes, *, task: Task) -> Self:
        """Load LightGBM model text (checked against its sha256 by the caller's store)."""
        try:
            booster = lgb.Booster(model_str=data.decode("utf-8"))
        except (UnicodeDecodeError, lgb.basic.LightGBMError) as exc:
            raise InvalidInput(
                "the stored LightGBM model text does not load", path="model"
            ) from exc
        estimator = cls(task=task, params={}, seed=0)
        estimator.booster_ = booster
        return estimator


def _safe_name(name: str) -> str:
    """LightGBM refuses some characters in feature names (JSON specials)."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in name)
