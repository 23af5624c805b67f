"""The data plane: request checks, features, model, decision, out-of-distribution flags.

``checks``, ``ood`` and ``predictor`` are free of any web framework, so that the HTTP service
and batch scoring share them.
"""

from keel.serving.checks import MAX_PROBLEMS, InvalidRecords, Problem, RecordChecker
from keel.serving.encoding import Encoded, RecordEncoder
from keel.serving.ids import new_id
from keel.serving.ood import OodCode, OodDetector, OodFlag, OodLimits
from keel.serving.predictor import ModelError, Prediction, Predictor

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
