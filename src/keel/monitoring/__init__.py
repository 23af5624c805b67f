"""Monitoring statistics: reference profiles, drift, data quality, realized and estimated
performance.

Pure domain code: Polars frames and numpy arrays in, frozen results with ``to_dict()`` out; no
I/O. ``keel monitor run`` (the prediction log, chunks, incidents) and ``keel drift`` plug these
into the store and the command line.

The names below load on first use, so that importing one light module of the package (the
incident states the command line offers as choices) does not import Polars and NumPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.monitoring.drift import STATISTICS, Statistic, get_statistic
    from keel.monitoring.reference import (
        CategoricalReference,
        NumericReference,
        ReferenceProfile,
        build_reference,
    )
    from keel.monitoring.results import ColumnDrift, Distribution, DriftReport, StatisticResult
    from keel.monitoring.summary import CategoricalCounts, NumericCounts, summarize
    from keel.monitoring.thresholds import ThresholdPolicy
    from keel.monitoring.univariate import DEFAULT_STATISTICS, DriftDetector, detect_drift

_HOMES = {
    "STATISTICS": "drift",
    "Statistic": "drift",
    "get_statistic": "drift",
    "CategoricalReference": "reference",
    "NumericReference": "reference",
    "ReferenceProfile": "reference",
    "build_reference": "reference",
    "ColumnDrift": "results",
    "Distribution": "results",
    "DriftReport": "results",
    "StatisticResult": "results",
    "CategoricalCounts": "summary",
    "NumericCounts": "summary",
    "summarize": "summary",
    "ThresholdPolicy": "thresholds",
    "DEFAULT_STATISTICS": "univariate",
    "DriftDetector": "univariate",
    "detect_drift": "univariate",
}

__all__ = [
    "DEFAULT_STATISTICS",
    "STATISTICS",
    "CategoricalCounts",
    "CategoricalReference",
    "ColumnDrift",
    "Distribution",
    "DriftDetector",
    "DriftReport",
    "NumericCounts",
    "NumericReference",
    "ReferenceProfile",
    "Statistic",
    "StatisticResult",
    "ThresholdPolicy",
    "build_reference",
    "detect_drift",
    "get_statistic",
    "summarize",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'keel.monitoring' has no attribute {name!r}")
    return getattr(importlib.import_module(f"keel.monitoring.{home}"), name)
