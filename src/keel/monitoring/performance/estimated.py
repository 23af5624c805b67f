"""Estimated performance before labels arrive: confidence-based performance estimation (CBPE).

If the model is calibrated, row ``i`` is positive with probability ``p_i``, so a chunk's
expected confusion matrix needs no label: ``E[TP] = sum_{s_i >= t} p_i``,
``E[FP] = sum_{s_i >= t} (1 - p_i)``, ``E[FN] = sum_{s_i < t} p_i``, and accuracy, precision and
recall are read from it (ratios of expectations, as NannyML's CBPE does), and F1 as
``2 E[TP] / (2 E[TP] + E[FP] + E[FN])``. The predicted class is the model's own decision: its
predicted labels when given (``y_pred``), else ``score >= threshold``. The expected ROC AUC
weighs every pair of rows by the chance that the higher-scored one is the positive:
``sum_{i != j} p_i (1 - p_j) [s_i > s_j] / sum_{i != j} p_i (1 - p_j)``, ties counting one half.

**The interval** is where the chunk's *realized* metric will fall once its labels arrive, if the
model is still calibrated: labels are drawn ``simulations`` times from the probabilities and the
metric computed on each draw (its percentile interval). It holds both classes' share of the
noise, where an interval from one class's term of DeLong's variance is too narrow. When the
probabilities come from a calibration map fitted on a finite reference, the map is uncertain
too: ``PerformanceEstimator`` refits it on ``calibration_resamples`` bootstrap resamples of the
reference and draws each simulation's labels from the probabilities of one of those maps in
turn, so the interval is a predictive one that holds both the label noise and the map's error
(label noise alone under-covers when the reference is not much larger than the chunk:
``test_cbpe_coverage.py``). The estimate itself stays the one of the map fitted on the whole
reference.

**An alert** is raised for a metric when its reference value lies above the ``1 -
false_alarm_rate`` quantile of those draws: a drop that neither label noise nor the calibration
map's uncertainty would explain.

``PerformanceEstimator`` adds what a monitor needs around that: the calibration of the scores on
labelled reference rows, and the reference values that alerts compare with. By default
(``calibration="auto"``) it checks the scores' calibration on the reference
(``check_calibration``, at the estimator's false-alarm rate) and, when the check fails or the
scores are not probabilities at all, recalibrates them (isotonic, as NannyML's CBPE does) and
says so in ``calibration_note_`` and in every estimate's ``notes``: a model trained elsewhere
often ranks well but is not calibrated, and CBPE on uncalibrated scores is biased.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
import numpy.typing as npt

from keel.errors import InvalidInput
from keel.evaluation import MetricParams, evaluate
from keel.features.errors import NotFittedError
from keel.monitoring._arrays import F64, midranks
from keel.monitoring.performance.calibration import CalibrationCheck, check_calibration

if TYPE_CHECKING:
    from keel.models.calibration import Calibrator

CBPE_METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1")
Calibration = Literal["auto", "isotonic", "sigmoid", "none"]
BLOCK_CELLS = 4_000_000
"""Simulated labels held at once (simulations x rows)."""


@dataclass(frozen=True)
class EstimatedMetric:
    """A metric's expected value, the interval of its realized value, and the reference's."""

    value: float
    low: float
    high: float
    reference: float | None = None
    alert: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "reference": self.reference,
            "alert": self.alert,
        }


@dataclass(frozen=True)
class EstimatedPerformance:
    """Every estimated metric of one chunk."""

    rows: int
    metrics: dict[str, EstimatedMetric]
    notes: tuple[str, ...] = ()  # e.g. that the scores were recalibrated on the reference

    @property
    def alerts(self) -> tuple[str, ...]:
        """The metrics whose estimate fell below what label noise and the map's error explain."""
        return tuple(name for name, metric in self.metrics.items() if metric.alert)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "rows": self.rows,
            "metrics": {name: metric.to_dict() for name, metric in self.metrics.items()},
            "alerts": list(self.alerts),
            "notes": list(self.notes),
        }


def _checked(name: str, values: npt.ArrayLike) -> F64:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0 or not np.isfinite(array).all():
        raise InvalidInput(f"{name} must be a non-empty 1-D array of finite numbers", path=name)
    return array


def expected_auc(p: F64, s: F64) -> float:
    """The expected ROC AUC of scores ``s`` when row ``i`` is positive with probability ``p_i``."""
    _, group, counts = np.unique(s, return_inverse=True, return_counts=True)
    negative = np.bincount(group, weights=1.0 - p, minlength=counts.size)
    below = np.concatenate(([0.0], np.cumsum(negative)[:-1]))  # negative weight scored lower
    tied = negative[group] - (1.0 - p)  # tied rows other than the row itself
    wins = float(np.dot(p, below[group] + 0.5 * tied))
    pairs = float(p.sum() * (1.0 - p).sum() - np.dot(p, 1.0 - p))
    return wins / pairs if pairs > 0 else float("nan")


def expected_confusion(p: F64, predicted: npt.NDArray[np.bool_]) -> dict[str, float]:
    """Accuracy, precision, recall and F1 from the expected confusion matrix of the rows
    ``predicted`` positive."""
    tp, fp = float(p[predicted].sum()), float((1.0 - p[predicted]).sum())
    fn, tn = float(p[~predicted].sum()), float((1.0 - p[~predicted]).sum())
    return {
        "accuracy": (tp + tn) / p.size,
        "precision": tp / (tp + fp) if tp + fp > 0 else float("nan"),
        "recall": tp / (tp + fn) if tp + fn > 0 else float("nan"),
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else float("nan"),
    }


def decisions(
    s: F64, threshold: float, y_pred: npt.ArrayLike | None = None
) -> npt.NDArray[np.bool_]:
    """The model's decision per row: its predicted labels when given, else ``s >= threshold``."""
    if y_pred is None:
        return np.asarray(s >= threshold, dtype=np.bool_)
    labels = np.asarray(y_pred, dtype=np.float64)
    if labels.shape != s.shape or not np.isin(labels, (0.0, 1.0)).all():
        raise InvalidInput(
            "y_pred must hold one predicted label (0 or 1) per row of the scores", path="y_pred"
        )
    return np.asarray(labels == 1.0, dtype=np.bool_)


def simulated_metrics(
    p: F64, s: F64, positive: npt.NDArray[np.bool_], simulations: int, seed: int
) -> dict[str, F64]:
    """Each CBPE metric on ``simulations`` label draws ``y ~ Bernoulli(p)``.

    ``p`` is one probability per row, or one row of probabilities per plausible calibration map
    (shape ``(maps, rows)``): draw ``j`` then reads map ``j % maps``, so the draws hold the
    maps' spread as well as the label noise.
    """
    ranks = midranks(s)
    predicted = positive.astype(np.float64)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[F64]] = {name: [] for name in CBPE_METRICS}
    table = p.reshape(-1, s.size)
    step = max(1, BLOCK_CELLS // s.size)
    n = float(s.size)
    for start in range(0, simulations, step):
        which = np.arange(start, min(start + step, simulations)) % table.shape[0]
        labels = (rng.random((which.size, s.size)) < table[which]).astype(np.float64)
        positives = labels.sum(axis=1)
        tp = labels @ predicted
        negatives = n - positives
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = (labels @ ranks - positives * (positives + 1) / 2) / (positives * negatives)
            parts["roc_auc"].append(auc)
            parts["accuracy"].append((n - positives - predicted.sum() + 2 * tp) / n)
            parts["precision"].append(tp / predicted.sum())
            parts["recall"].append(tp / positives)
            parts["f1"].append(2 * tp / (positives + predicted.sum()))
    return {name: np.concatenate(values) for name, values in parts.items()}


def _resampled(y_prob_resampled: npt.ArrayLike | None, p: F64) -> F64:
    """The probabilities the labels are drawn from: ``p``, or one row per refitted map."""
    if y_prob_resampled is None:
        return p
    table = np.asarray(y_prob_resampled, dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != p.size or table.shape[0] == 0:
        raise InvalidInput(
            "y_prob_resampled must hold one row of probabilities per map, one per row of y_prob",
            path="y_prob_resampled",
        )
    if not np.isfinite(table).all() or ((table < 0) | (table > 1)).any():
        raise InvalidInput(
            "y_prob_resampled must hold probabilities in [0, 1]", path="y_prob_resampled"
        )
    return table


def estimate_performance(
    y_prob: npt.ArrayLike,
    *,
    y_score: npt.ArrayLike | None = None,
    metrics: Sequence[str] = CBPE_METRICS,
    threshold: float = 0.5,
    y_pred: npt.ArrayLike | None = None,
    confidence: float = 0.95,
    simulations: int = 500,
    false_alarm_rate: float = 0.01,
    reference: Mapping[str, float] | None = None,
    seed: int = 0,
    notes: tuple[str, ...] = (),
    y_prob_resampled: npt.ArrayLike | None = None,
) -> EstimatedPerformance:
    """CBPE for one chunk: calibrated probabilities ``y_prob`` (ranked by ``y_score`` if given).

    The decision is ``y_pred`` (the model's predicted labels) when given, else
    ``y_score >= threshold``. ``reference`` maps a metric to its value on the reference, for
    alerts. ``y_prob_resampled`` (one row of probabilities per refitted calibration map, shape
    ``(maps, rows)``) widens the interval by the map's uncertainty: the labels are drawn from
    each map's probabilities in turn; the estimate stays that of ``y_prob``.
    """
    unknown = [name for name in metrics if name not in CBPE_METRICS]
    if unknown:
        raise InvalidInput(
            f"CBPE estimates {list(CBPE_METRICS)}; got {unknown[0]!r}", path="metrics"
        )
    p = _checked("y_prob", y_prob)
    if ((p < 0) | (p > 1)).any():
        raise InvalidInput("y_prob must hold probabilities in [0, 1]", path="y_prob")
    s = p if y_score is None else _checked("y_score", y_score)
    if s.size != p.size:
        raise InvalidInput("y_score must have one entry per row of y_prob", path="y_score")
    positive = decisions(s, threshold, y_pred)
    values = {"roc_auc": expected_auc(p, s), **expected_confusion(p, positive)}
    draws = simulated_metrics(_resampled(y_prob_resampled, p), s, positive, simulations, seed)
    tail = (1.0 - confidence) / 2.0
    found = {}
    for name in metrics:
        defined = draws[name][np.isfinite(draws[name])]
        low, high = np.quantile(defined, [tail, 1.0 - tail]) if defined.size else (np.nan, np.nan)
        base = (reference or {}).get(name)
        limit = np.quantile(defined, 1.0 - false_alarm_rate) if defined.size else np.nan
        alert = base is not None and bool(base > limit)
        found[name] = EstimatedMetric(values[name], float(low), float(high), base, alert)
    return EstimatedPerformance(p.size, found, notes)


class PerformanceEstimator:
    """CBPE with the reference's calibration check (and recalibration when it fails) and the
    reference values, fitted on labelled reference rows (the model's held-out or benchmark
    scores, and its predicted labels when its decision is not a plain threshold).

    When it recalibrates, the map is also refitted on ``calibration_resamples`` bootstrap
    resamples of the reference, whose spread the intervals hold (0: label noise only).
    """

    def __init__(
        self,
        *,
        metrics: Sequence[str] = CBPE_METRICS,
        threshold: float = 0.5,
        calibration: Calibration = "auto",
        confidence: float = 0.95,
        simulations: int = 500,
        false_alarm_rate: float = 0.01,
        seed: int = 0,
        calibration_resamples: int = 50,
    ) -> None:
        if calibration_resamples < 0:
            raise InvalidInput(
                "calibration_resamples must be 0 or more", path="calibration_resamples"
            )
        self.metrics = metrics
        self.threshold = threshold
        self.calibration = calibration
        self.confidence = confidence
        self.simulations = simulations
        self.false_alarm_rate = false_alarm_rate
        self.seed = seed
        self.calibration_resamples = calibration_resamples

    def get_params(self) -> dict[str, Any]:
        """The parameters a run records."""
        return {
            "metrics": list(self.metrics),
            "threshold": self.threshold,
            "calibration": self.calibration,
            "confidence": self.confidence,
            "simulations": self.simulations,
            "false_alarm_rate": self.false_alarm_rate,
            "seed": self.seed,
            "calibration_resamples": self.calibration_resamples,
        }

    def fit(
        self, y_score: npt.ArrayLike, y_true: npt.ArrayLike, y_pred: npt.ArrayLike | None = None
    ) -> Self:
        """Check the scores' calibration and recalibrate them as ``calibration`` says; measure
        the reference with the model's decisions (``y_pred``, else the threshold)."""
        s = _checked("y_score", y_score)
        y = _checked("y_true", y_true)
        if s.size != y.size:
            raise InvalidInput("y_true must have one label per score", path="y_true")
        self.calibration_check_: CalibrationCheck | None = None
        method, self.calibration_note_ = self._method(s, y)
        self.calibration_used_ = method
        # keel.models loads LightGBM: only when fitting, so the command line starts light
        from keel.models.calibration import Calibrator  # noqa: PLC0415

        self.calibrator_ = Calibrator(method=method)
        self.resampled_: list[Calibrator] = []
        if method != "none":
            self.calibrator_.fit(s, y)
            rng = np.random.default_rng(self.seed)
            for _ in range(self.calibration_resamples):
                rows = rng.integers(0, s.size, s.size)
                self.resampled_.append(Calibrator(method=method).fit(s[rows], y[rows]))
        positive = decisions(s, self.threshold, y_pred).astype(np.float64)
        self.reference_ = {name: self._realized(name, y, s, positive) for name in self.metrics}
        return self

    def _method(self, s: F64, y: F64) -> tuple[Literal["isotonic", "sigmoid", "none"], str]:
        """The calibration to apply, and why (empty when the scores are used as they are)."""
        if self.calibration != "auto":
            return self.calibration, ""
        if ((s < 0) | (s > 1)).any():
            return "isotonic", "the scores are not probabilities: recalibrated (isotonic)"
        check = check_calibration(y, s, false_alarm_rate=self.false_alarm_rate, seed=self.seed)
        self.calibration_check_ = check
        if check.holds:
            return "none", ""
        return "isotonic", (
            f"the scores are not calibrated on the reference (mean score {check.mean_predicted:.3f}"
            f" vs positive rate {check.observed_rate:.3f}, ECE {check.ece:.3f} over its limit"
            f" {check.ece_threshold:.3f}): recalibrated (isotonic)"
        )

    def _realized(self, name: str, y: F64, s: F64, positive: F64) -> float:
        """A metric on the reference: ROC AUC from the scores, the others from the decisions."""
        if name == "roc_auc":
            return evaluate(y, s, [name], resamples=0)[name].value
        # the decisions as 0/1 scores at threshold 0.5 give the confusion of the model's rule
        found = evaluate(y, positive, [name], params=MetricParams(threshold=0.5), resamples=0)
        return found[name].value

    def probabilities(self, y_score: npt.ArrayLike) -> F64:
        """The calibrated probabilities CBPE reads for these scores (the calibration the
        reference chose applied, clipped to [0, 1])."""
        calibrator: Calibrator | None = getattr(self, "calibrator_", None)
        if calibrator is None:
            raise NotFittedError("PerformanceEstimator")
        return np.clip(calibrator.apply(_checked("y_score", y_score)), 0.0, 1.0)

    def estimate(
        self, y_score: npt.ArrayLike, y_pred: npt.ArrayLike | None = None
    ) -> EstimatedPerformance:
        """The chunk's estimated metrics, intervals and alerts against the reference."""
        calibrator: Calibrator | None = getattr(self, "calibrator_", None)
        if calibrator is None:
            raise NotFittedError("PerformanceEstimator")
        s = _checked("y_score", y_score)
        resampled = [np.clip(each.apply(s), 0.0, 1.0) for each in self.resampled_]
        return estimate_performance(
            np.clip(calibrator.apply(s), 0.0, 1.0),
            y_score=s,
            metrics=self.metrics,
            threshold=self.threshold,
            y_pred=y_pred,
            confidence=self.confidence,
            simulations=self.simulations,
            false_alarm_rate=self.false_alarm_rate,
            reference=self.reference_,
            seed=self.seed,
            notes=(self.calibration_note_,) if self.calibration_note_ else (),
            y_prob_resampled=np.stack(resampled) if resampled else None,
        )


def decision_threshold(y_score: npt.ArrayLike, y_pred: npt.ArrayLike) -> float | None:
    """The threshold a model's predicted labels follow (the lowest score it calls positive), or
    None when no threshold on the scores reproduces them."""
    s = _checked("y_score", y_score)
    positive = decisions(s, 0.5, y_pred)
    if not positive.any():
        return None
    cut = float(s[positive].min())
    return cut if bool(np.array_equal(s >= cut, positive)) else None
