"""The data plane: request checks, features, model, decision, out-of-distribution flags.

``checks``, ``ood`` and ``predictor`` are free of any web framework, so that the HTTP service
and batch scoring share them. The names below load on first use: ``keel serve``'s options
(``keel.serving.settings``) are read by every ``keel`` command, which must not pay for the model
stack (LightGBM, scikit-learn) that the predictor imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.serving.checks import MAX_PROBLEMS, InvalidRecords, Problem, RecordChecker
    from keel.serving.encoding import Encoded, RecordEncoder
    from keel.serving.ids import new_id
    from keel.serving.ood import OodCode, OodDetector, OodFlag, OodLimits
    from keel.serving.predictor import ModelError, Prediction, Predictor

_HOMES = {
    "MAX_PROBLEMS": "checks",
    "InvalidRecords": "checks",
    "Problem": "checks",
    "RecordChecker": "checks",
    "Encoded": "encoding",
    "RecordEncoder": "encoding",
    "new_id": "ids",
    "OodCode": "ood",
    "OodDetector": "ood",
    "OodFlag": "ood",
    "OodLimits": "ood",
    "ModelError": "predictor",
    "Prediction": "predictor",
    "Predictor": "predictor",
}

__all__ = [
    "MAX_PROBLEMS",
    "Encoded",
    "InvalidRecords",
    "ModelError",
    "OodCode",
    "OodDetector",
    "OodFlag",
    "OodLimits",
    "Prediction",
    "Predictor",
    "Problem",
    "RecordChecker",
    "RecordEncoder",
    "new_id",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'keel.serving' has no attribute {name!r}")
    return getattr(importlib.import_module(f"keel.serving.{home}"), name)
