"""Model performance per chunk: realized once labels arrive, estimated before (CBPE), and a
check that the calibration CBPE relies on still holds."""

from keel.monitoring.performance.calibration import CalibrationCheck, check_calibration
from keel.monitoring.performance.estimated import (
    CBPE_METRICS,
    EstimatedMetric,
    EstimatedPerformance,
    PerformanceEstimator,
    decision_threshold,
    estimate_performance,
)
from keel.monitoring.performance.realized import RealizedPerformance, realized_performance

__all__ = [
    "CBPE_METRICS",
    "CalibrationCheck",
    "EstimatedMetric",
    "EstimatedPerformance",
    "PerformanceEstimator",
    "RealizedPerformance",
    "check_calibration",
    "decision_threshold",
    "estimate_performance",
    "realized_performance",
]
