"""Monitoring statistics: reference profiles, drift, data quality, realized and estimated
performance.

Pure domain code: Polars frames and numpy arrays in, frozen results with ``to_dict()`` out; no
I/O. ``keel monitor run`` (the prediction log, chunks, incidents) and ``keel drift`` plug these
into the store and the command line.
"""

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
