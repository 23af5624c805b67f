"""Decisions: what the application does with a score.

Pure domain code, configured by the ``decisions:`` section of keel.yaml: a threshold policy that
maps a calibrated probability to an action, the action for out-of-distribution records, and the
fallback chain the service walks when the champion cannot answer.

The names below load on first use, so that importing one light module of the package (the
review states the command line offers as choices) does not import pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.decisions.policy import DEFAULT_FALLBACK, DEFER, DecisionPolicy, FallbackStep
    from keel.decisions.ranges import ScoreRange, parse_range
    from keel.decisions.thresholds import ThresholdPolicy

_HOMES = {
    "DEFAULT_FALLBACK": "policy",
    "DEFER": "policy",
    "DecisionPolicy": "policy",
    "FallbackStep": "policy",
    "ScoreRange": "ranges",
    "parse_range": "ranges",
    "ThresholdPolicy": "thresholds",
}

__all__ = [
    "DEFAULT_FALLBACK",
    "DEFER",
    "DecisionPolicy",
    "FallbackStep",
    "ScoreRange",
    "ThresholdPolicy",
    "parse_range",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'keel.decisions' has no attribute {name!r}")
    return getattr(importlib.import_module(f"keel.decisions.{home}"), name)
