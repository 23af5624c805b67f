"""Monitoring any model from its files: a reference with scores (or predictions) and labels,
then chunks of production rows, with or without labels. No project, no prediction log.

``ModelMonitor`` follows the estimator contract. ``fit`` profiles the reference once: the drift
thresholds, the quality limits, the identifiers and timestamps to leave out, and the
performance estimator: CBPE for a classifier's scores (its calibration checked and, when it
fails, recalibrated), DLE for a regressor's predictions. ``check`` then reports one chunk:

* **drift** of every compared column (inputs and the model's output), calibrated thresholds
  whose ``false_alarm_rate`` is per chunk, shared out over the columns (so a stationary stream
  alerts on drift in about that share of chunks, however many columns the files have);
* **data quality**: missing rate against the reference's (allowing three standard errors of a
  chunk of that size), unseen categories by name, out-of-range values;
* **estimated performance** when the chunk has the model's scores (or predictions, for a
  regression), with intervals and alerts (each metric at ``false_alarm_rate``; the metrics of
  one decision rule move together, so they mostly alert together);
* **realized performance** when the chunk has labels.

Columns that are not features are left out, saying why: the label, the columns named in
``ignore``, timestamps, and identifiers (``find_identifiers``: integers that are unique and
monotonic in the reference, which every later chunk would show as drift).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
import polars as pl

from keel.errors import InvalidInput
from keel.evaluation import MetricParams
from keel.features.errors import NotFittedError
from keel.monitoring._arrays import F64
from keel.monitoring.performance.estimated import (
    EstimatedPerformance,
    PerformanceEstimator,
    decision_threshold,
    decisions,
)
from keel.monitoring.performance.realized import RealizedPerformance, realized_performance
from keel.monitoring.quality import QualityLimits, QualityReport, check_quality
from keel.monitoring.results import DriftReport
from keel.monitoring.thresholds import ThresholdPolicy
from keel.monitoring.univariate import DriftDetector

if TYPE_CHECKING:
    from keel.monitoring.performance.regression import LossEstimator

Task = Literal["classification", "regression"]
CLASSIFICATION_METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1")
DECISION_METRICS = ("accuracy", "precision", "recall", "f1")
REGRESSION_METRICS = ("mae", "rmse")


def find_identifiers(frame: pl.DataFrame, columns: Sequence[str] | None = None) -> list[str]:
    """Columns of whole numbers that are unique and monotonic (a row id or a sequence): each
    chunk's values lie beyond the reference's, so drift would always flag them."""
    found = []
    for name in columns if columns is not None else frame.columns:
        series = frame[name]
        if series.len() < 2 or not series.dtype.is_numeric() or series.null_count():
            continue
        if series.dtype.is_float() and not bool((series == series.round(0)).all()):
            continue
        if series.n_unique() != series.len():
            continue
        if series.is_sorted() or series.is_sorted(descending=True):
            found.append(name)
    return found


def is_timestamp(dtype: pl.DataType) -> bool:
    """Dates and times (a CSV's ISO timestamps, read with date parsing, are among them)."""
    return dtype.is_temporal()


@dataclass(frozen=True)
class ChunkReport:
    """Everything checked on one chunk."""

    label: str
    rows: int
    drift: DriftReport
    quality: QualityReport
    estimated: EstimatedPerformance | None
    realized: RealizedPerformance | None

    @property
    def alerts(self) -> list[str]:
        """One line per alert: drift, quality, estimated performance."""
        lines = [f"drift {name}" for name in self.drift.drifted_columns]
        for name, codes in self.quality.alerts.items():
            lines.extend(f"quality {name} {code}" for code in codes)
        if self.estimated is not None:
            lines.extend(f"estimated {name}" for name in self.estimated.alerts)
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "label": self.label,
            "rows": self.rows,
            "alerts": self.alerts,
            "drift": self.drift.to_dict(),
            "quality": self.quality.to_dict(),
            "estimated": None if self.estimated is None else self.estimated.to_dict(),
            "realized": None if self.realized is None else self.realized.to_dict(),
        }


class ModelMonitor:
    """Fitted once on a reference file's rows, then run on every chunk (see the module doc)."""

    def __init__(
        self,
        *,
        score: str | None = None,
        label: str | None = None,
        prediction: str | None = None,
        threshold: float | None = None,
        task: Task | None = None,
        ignore: Sequence[str] = (),
        false_alarm_rate: float = 0.01,
        quality: QualityLimits | None = None,
        min_labels: int = 50,
        seed: int = 0,
    ) -> None:
        self.score = score
        self.label = label
        self.prediction = prediction
        self.threshold = threshold
        self.task = task
        self.ignore = ignore
        self.false_alarm_rate = false_alarm_rate
        self.quality = quality
        self.min_labels = min_labels
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        """The parameters a run records."""
        return {
            "score": self.score,
            "label": self.label,
            "prediction": self.prediction,
            "threshold": self.threshold,
            "task": self.task,
            "ignore": list(self.ignore),
            "false_alarm_rate": self.false_alarm_rate,
            "quality": (self.quality or QualityLimits()).to_dict(),
            "min_labels": self.min_labels,
            "seed": self.seed,
        }

    def fit(self, reference: pl.DataFrame) -> Self:
        """Profile the reference once: drift, quality, and the performance estimator."""
        self._check_named(reference)
        self.task_: Task = self.task or self._infer_task(reference)
        self.skipped_ = self._left_out(reference)
        compared = [name for name in reference.columns if name not in self.skipped_]
        if not compared:
            raise InvalidInput(
                "the reference has no column left to compare",
                path="columns",
                hint="name fewer columns in --ignore",
            )
        # per chunk, shared out over the columns (as the project monitor does)
        share = self.false_alarm_rate / len(compared)
        policy = ThresholdPolicy(method="calibrated", false_alarm_rate=share)
        self.drift_ = DriftDetector(thresholds=policy, columns=compared).fit(reference)
        self.profile_ = self.drift_.reference_
        self.reference_missing_ = {
            name: column.missing / max(column.rows, 1)
            for name, column in self.profile_.columns.items()
        }
        self.features_ = [
            n for n in self.profile_.columns if n not in (self.score, self.prediction)
        ]
        self.notes_: list[str] = []
        self.threshold_ = self._decision_threshold(reference)
        self.estimator_ = self._estimator(reference)
        return self

    def _check_named(self, reference: pl.DataFrame) -> None:
        for option in ("score", "label", "prediction"):
            name = getattr(self, option)
            if name is not None and name not in reference.columns:
                raise InvalidInput(
                    f"--{option}: the reference has no column {name!r}",
                    path=option,
                    hint=f"its columns are: {', '.join(reference.columns)}",
                )
        for name in self.ignore:
            if name not in reference.columns:
                raise InvalidInput(f"--ignore: the reference has no column {name!r}", path=name)

    def _infer_task(self, reference: pl.DataFrame) -> Task:
        """A classifier when scores are given or the labels are 0 and 1; else a regressor."""
        if self.score is not None or self.label is None:
            return "classification"
        labels = _floats(reference[self.label])
        present = labels[np.isfinite(labels)]
        return "classification" if np.isin(present, (0.0, 1.0)).all() else "regression"

    def _left_out(self, reference: pl.DataFrame) -> dict[str, str]:
        """The columns not compared, and why."""
        skipped = dict.fromkeys(self.ignore, "named in --ignore")
        if self.label is not None:
            skipped[self.label] = "the label"
        for name in reference.columns:
            if name not in skipped and is_timestamp(reference.schema[name]):
                skipped[name] = "a timestamp"
        rest = [n for n in reference.columns if n not in skipped and n not in self._outputs()]
        for name in find_identifiers(reference, rest):
            skipped[name] = "an identifier (unique, monotonic whole numbers); --ignore to name any"
        return skipped

    def _outputs(self) -> tuple[str, ...]:
        return tuple(n for n in (self.score, self.prediction) if n is not None)

    def _decision_threshold(self, reference: pl.DataFrame) -> float:
        """The model's threshold: given, else read from its predicted labels, else 0.5."""
        if self.threshold is not None:
            return self.threshold
        if self.task_ == "classification" and self.score and self.prediction:
            scored = self._with_output(reference)
            found = decision_threshold(_floats(scored[self.score]), _labels(scored, self))
            if found is not None:
                self.notes_.append(f"the model's threshold, read from its labels: {found:.4g}")
                return found
            self.notes_.append("the predicted labels follow no threshold on the scores")
        return 0.5

    def _estimator(self, reference: pl.DataFrame) -> PerformanceEstimator | LossEstimator | None:
        """CBPE for scores, DLE for a regressor's predictions; None without labels."""
        if self.label is None:
            return None
        labelled = self._with_output(reference.filter(pl.col(self.label).is_not_null()))
        y = _floats(labelled[self.label])
        if self.task_ == "regression":
            if self.prediction is None:
                return None
            from keel.monitoring.performance.regression import LossEstimator  # noqa: PLC0415

            return LossEstimator(
                columns=self.features_, false_alarm_rate=self.false_alarm_rate, seed=self.seed
            ).fit(labelled.select(self.features_), _floats(labelled[self.prediction]), y)
        if self.score is None:
            return None
        y_pred = _labels(labelled, self) if self.prediction else None
        estimator = PerformanceEstimator(
            threshold=self.threshold_, false_alarm_rate=self.false_alarm_rate, seed=self.seed
        ).fit(_floats(labelled[self.score]), y, y_pred=y_pred)
        if estimator.calibration_note_:
            self.notes_.append(estimator.calibration_note_)
        return estimator

    def check(self, chunk: pl.DataFrame, label: str = "chunk") -> ChunkReport:
        """Drift, quality, and estimated and realized performance of one chunk."""
        drift: DriftDetector | None = getattr(self, "drift_", None)
        if drift is None:
            raise NotFittedError("ModelMonitor")
        absent = [name for name in self.profile_.columns if name not in chunk.columns]
        if absent:
            raise InvalidInput(
                f"chunk {label}: no column {absent[0]!r}, which the reference has",
                path=absent[0],
                hint="give every file the reference's columns, or leave it out with --ignore",
            )
        return ChunkReport(
            label=label,
            rows=chunk.height,
            drift=drift.check(chunk),
            quality=check_quality(self.profile_, chunk, limits=self._limits(chunk.height)),
            estimated=self._estimated(chunk),
            realized=self._realized(chunk),
        )

    def _limits(self, rows: int) -> QualityLimits:
        """The limits; a column's missing limit is its reference rate plus the allowed increase
        plus three standard errors of a chunk of ``rows`` rows."""
        base = self.quality or QualityLimits()
        limits = {}
        for name, column in self.profile_.columns.items():
            baseline = column.missing / max(column.rows, 1)
            rate = max(baseline, 1 / max(rows, 1))
            noise = 3 * math.sqrt(rate * (1 - rate) / max(rows, 1))
            limits[name] = min(baseline + base.missing_increase + noise, 1.0)
        return QualityLimits(
            missing_increase=base.missing_increase,
            unseen_rate=base.unseen_rate,
            out_of_range_rate=base.out_of_range_rate,
            max_missing={**limits, **base.max_missing},
            ranges=base.ranges,
            allowed=base.allowed,
        )

    def _with_output(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """The rows with the model's output (score, prediction): the others have no performance
        (data quality reports how many are missing)."""
        names = [n for n in self._outputs() if n in chunk.columns]
        if not names:
            return chunk
        present = [
            pl.col(n).cast(pl.Float64, strict=False).is_finite().fill_null(False) for n in names
        ]
        return chunk.filter(pl.all_horizontal(present))

    def _estimated(self, chunk: pl.DataFrame) -> EstimatedPerformance | None:
        estimator = self.estimator_
        chunk = self._with_output(chunk)
        if estimator is None or chunk.is_empty():
            return None
        if isinstance(estimator, PerformanceEstimator):
            if self.score is None or self.score not in chunk.columns:
                return None
            y_pred = _labels(chunk, self) if self._has_predictions(chunk) else None
            return estimator.estimate(_floats(chunk[self.score]), y_pred=y_pred)
        if self.prediction is None or self.prediction not in chunk.columns:
            return None
        return estimator.estimate(chunk.select(self.features_), _floats(chunk[self.prediction]))

    def _has_predictions(self, chunk: pl.DataFrame) -> bool:
        return self.prediction is not None and self.prediction in chunk.columns

    def _realized(self, chunk: pl.DataFrame) -> RealizedPerformance | None:
        chunk = self._with_output(chunk)
        if self.label is None or self.label not in chunk.columns or chunk.is_empty():
            return None
        y = _floats(chunk[self.label])
        if self.task_ == "regression":
            name = self.prediction
            if name is None or name not in chunk.columns:
                return None
            return self._measured(y, _floats(chunk[name]), REGRESSION_METRICS)
        parts = []
        if self.score is not None and self.score in chunk.columns:
            scores = _floats(chunk[self.score])
            parts.append(self._measured(y, scores, ("roc_auc",)))
            positive = decisions(scores, self.threshold_)
        else:
            positive = None
        if self._has_predictions(chunk):
            positive = decisions(np.zeros(chunk.height), 0.5, _labels(chunk, self))
        if positive is not None:
            parts.append(self._measured(y, positive.astype(np.float64), DECISION_METRICS, 0.5))
        if not parts:
            return None
        return RealizedPerformance(
            parts[0].rows,
            parts[0].labelled,
            {k: v for part in parts for k, v in part.metrics.items()},
            {k: v for part in parts for k, v in part.absent.items()},
        )

    def _measured(
        self, y: F64, s: F64, metrics: Sequence[str], threshold: float | None = None
    ) -> RealizedPerformance:
        params = None if threshold is None else MetricParams(threshold=threshold)
        return realized_performance(
            y, s, metrics=metrics, min_labels=self.min_labels, params=params, resamples=200
        )


def _floats(series: pl.Series) -> F64:
    """A column as floats, missing as NaN."""
    values = series.cast(pl.Float64, strict=False).fill_null(np.nan).to_numpy()
    return np.asarray(values, dtype=np.float64)


def _labels(frame: pl.DataFrame, monitor: ModelMonitor) -> F64:
    """The model's predicted labels as 0/1 (true/false and "1"/"0" too)."""
    name = monitor.prediction
    if name is None:  # pragma: no cover - callers check
        raise InvalidInput("no prediction column", path="prediction")
    series = frame[name]
    if series.dtype == pl.Boolean:
        series = series.cast(pl.Int8)
    values = _floats(series)
    if not np.isin(values, (0.0, 1.0)).all():
        raise InvalidInput(
            f"--prediction: column {name!r} must hold the predicted class, 0 or 1",
            path="prediction",
            hint="for a regression model, leave out --score; --label then names the outcome",
        )
    return values
