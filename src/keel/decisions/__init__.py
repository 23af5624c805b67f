"""Decisions: what the application does with a score.

Pure domain code, configured by the ``decisions:`` section of keel.yaml: a threshold policy that
maps a calibrated probability to an action, the action for out-of-distribution records, and the
fallback chain the service walks when the champion cannot answer.
"""

from keel.decisions.policy import DEFAULT_FALLBACK, DEFER, DecisionPolicy, FallbackStep
from keel.decisions.ranges import ScoreRange, parse_range
from keel.decisions.thresholds import ThresholdPolicy

__all__ = [
    "DEFAULT_FALLBACK",
    "DEFER",
    "DecisionPolicy",
    "FallbackStep",
    "ScoreRange",
    "ThresholdPolicy",
    "parse_range",
]
