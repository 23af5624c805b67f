"""The metric registry: stable names, as stored in keel.yaml and in recorded results.

A name, once published, keeps its meaning; a changed formula gets a new name.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from keel.errors import InvalidInput
from keel.evaluation import calibration, ranking, regression, scoring_rules, threshold
from keel.evaluation.spec import Metric

METRICS: Mapping[str, Metric] = MappingProxyType(
    {
        metric.name: metric
        for family in (ranking, scoring_rules, calibration, threshold, regression)
        for metric in family.METRICS
    }
)
"""Every metric by name: binary ones first, then regression ones."""


def get_metric(name: str, *, path: str = "metric") -> Metric:
    """The metric called ``name``; InvalidInput listing the valid names otherwise."""
    try:
        return METRICS[name]
    except (KeyError, TypeError):
        raise InvalidInput(
            f"unknown metric {name!r}; expected one of: {', '.join(METRICS)}", path=path
        ) from None
