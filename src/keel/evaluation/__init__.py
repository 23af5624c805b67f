"""Model evaluation: metrics with confidence intervals, paired comparisons, slices, calibration.

Pure domain code: arrays in, frozen results out; numpy and scipy only, no I/O. Every metric is one
weighted, vectorized formula (``spec.Metric``), so the point estimate and each bootstrap resample
are the same computation with different row weights. On large sets most metrics get a normal
interval from their first-order row effects instead (``intervals``); every estimate says which
method made its interval.
"""

from keel.evaluation.bootstrap import evaluate, paired_difference
from keel.evaluation.calibration import CalibrationCurve, calibration_curve
from keel.evaluation.delong import delong_auc_se
from keel.evaluation.estimate import Estimate
from keel.evaluation.registry import METRICS, get_metric
from keel.evaluation.slices import SliceResult, slice_metrics
from keel.evaluation.spec import Metric, MetricParams

__all__ = [
    "METRICS",
    "CalibrationCurve",
    "Estimate",
    "Metric",
    "MetricParams",
    "SliceResult",
    "calibration_curve",
    "delong_auc_se",
    "evaluate",
    "get_metric",
    "paired_difference",
    "slice_metrics",
]
