"""The data plane: request checks, features, model, decision, out-of-distribution flags.

``checks``, ``ood`` and ``predictor`` are free of any web framework, so that the HTTP service
and batch scoring share them.
"""

from keel.serving.checks import MAX_PROBLEMS, InvalidRecords, Problem, RecordChecker

__all__ = ["MAX_PROBLEMS", "InvalidRecords", "Problem", "RecordChecker"]
