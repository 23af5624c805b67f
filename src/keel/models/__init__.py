"""Estimators Keel trains and serves: LightGBM and linear models, calibration, safe artifacts.

Every learned object here serializes to text or JSON (LightGBM's own model text, coefficient
lists, isotonic thresholds) and is loaded back without pickle.
"""

from keel.models.calibration import Calibrator
from keel.models.estimator import Estimator, ModelKind, Task
from keel.models.factory import load_estimator, make_estimator

__all__ = ["Calibrator", "Estimator", "ModelKind", "Task", "load_estimator", "make_estimator"]
