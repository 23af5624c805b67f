"""Multivariate drift: changes no single column shows, each with a calibrated threshold.

* ``DomainClassifier``: can a LightGBM tell current rows from reference rows? Its cross-
  validated ROC AUC on a sample of each is 0.5 when it cannot. With no drift, the pooled
  out-of-fold AUC is a Mann-Whitney statistic of scores unrelated to the labels, so its spread
  is ``sqrt((n_r + n_c + 1) / (12 n_r n_c))`` and the threshold is 0.5 plus that many standard
  errors for the false-alarm rate: nothing to simulate, and it tightens as samples grow.
* ``PCAReconstruction``: rows are encoded (numeric columns standardized, categorical ones as
  their reference frequency, missing values at the mean), projected on the principal
  components that explain ``variance`` of the reference, and reconstructed; the chunk's mean
  reconstruction error rises when the columns stop moving together as they did. The components
  are fitted on half of the reference sample and the error's mean and spread measured on the
  other half, so the band ``mean +- z sd sqrt(1/n + 1/n_half)`` is out of sample.

Both follow the estimator contract: keyword-only parameters, ``fit`` returns the detector,
learned state ends in ``_``, ``check`` before ``fit`` raises ``NotFittedError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any, Self

import numpy as np
import polars as pl

from keel.errors import InvalidInput
from keel.evaluation import get_metric
from keel.features.errors import NotFittedError
from keel.monitoring._arrays import F64
from keel.monitoring.reference import (
    CategoricalReference,
    NumericReference,
    ReferenceProfile,
    build_reference,
)
from keel.monitoring.results import MultivariateResult

CLASSIFIER_PARAMS: Mapping[str, Any] = {
    "n_estimators": 60,
    "num_leaves": 15,
    "learning_rate": 0.1,
    "min_child_samples": 50,
    "num_threads": 1,  # a few thousand rows: threads only spin against each other
}


def sample_rows(frame: pl.DataFrame, rows: int, seed: int) -> pl.DataFrame:
    """At most ``rows`` rows of ``frame``, drawn without replacement (all of them if fewer)."""
    if frame.height <= rows:
        return frame
    picked = np.sort(np.random.default_rng(seed).choice(frame.height, rows, replace=False))
    return frame[picked]


def encode_codes(profile: ReferenceProfile, frame: pl.DataFrame) -> F64:
    """Numeric columns as floats, categorical ones as level codes (unseen: one more code),
    missing as NaN: the matrix LightGBM reads."""
    exprs = []
    for name, column in profile.columns.items():
        if isinstance(column, NumericReference):
            exprs.append(_float(name, frame.schema[name]))
        else:
            codes = [float(i) for i in range(len(column.levels))]
            exprs.append(_mapped(name, column.levels, codes, float(len(column.levels))))
    return frame.select(exprs).to_numpy().astype(np.float64)


def _float(name: str, dtype: pl.DataType) -> pl.Expr:
    raw = pl.col(name)
    value = (
        raw.cast(pl.Float64)
        if dtype.is_numeric()
        else raw.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    )
    return pl.when(value.is_finite()).then(value).alias(name)


def _mapped(name: str, levels: Sequence[str], values: Sequence[float], other: float) -> pl.Expr:
    text = pl.col(name).cast(pl.String)
    mapped = text.replace_strict(list(levels), list(values), default=other, return_dtype=pl.Float64)
    return pl.when(text.is_null()).then(None).otherwise(mapped).alias(name)


class DomainClassifier:
    """Cross-validated AUC of a classifier that separates current rows from reference rows."""

    def __init__(
        self,
        *,
        columns: Sequence[str] | None = None,
        max_rows: int = 10_000,
        folds: int = 5,
        false_alarm_rate: float = 0.01,
        params: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        self.columns = columns
        self.max_rows = max_rows
        self.folds = folds
        self.false_alarm_rate = false_alarm_rate
        self.params = params
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        """The parameters a run records."""
        return {
            "columns": None if self.columns is None else list(self.columns),
            "max_rows": self.max_rows,
            "folds": self.folds,
            "false_alarm_rate": self.false_alarm_rate,
            "params": {**CLASSIFIER_PARAMS, **(self.params or {})},
            "seed": self.seed,
        }

    def fit(self, reference: pl.DataFrame) -> Self:
        """Profile the reference and keep a sample of its rows, encoded."""
        if self.folds < 2:
            raise InvalidInput(f"folds must be at least 2; got {self.folds}", path="folds")
        self.profile_ = build_reference(reference, columns=self.columns)
        sample = sample_rows(reference, self.max_rows, self.seed)
        self.reference_rows_ = _canonical_order(encode_codes(self.profile_, sample))
        return self

    def check(self, current: pl.DataFrame) -> MultivariateResult:
        """The out-of-fold AUC of reference (0) against current (1) rows, and its threshold."""
        profile: ReferenceProfile | None = getattr(self, "profile_", None)
        if profile is None:
            raise NotFittedError("DomainClassifier")
        rows = _canonical_order(
            encode_codes(profile, sample_rows(current, self.max_rows, self.seed + 1))
        )
        x = np.vstack((self.reference_rows_, rows))
        y = np.concatenate((np.zeros(len(self.reference_rows_)), np.ones(len(rows))))
        if min(len(rows), len(self.reference_rows_)) < self.folds:
            raise InvalidInput(
                f"the domain classifier needs at least {self.folds} rows on each side;"
                f" got {len(rows)} current rows",
                path="current",
            )
        scores = self._out_of_fold(x, y, profile)
        auc = get_metric("roc_auc").score(y, scores)
        n_r, n_c = len(self.reference_rows_), len(rows)
        spread = math.sqrt((n_r + n_c + 1) / (12.0 * n_r * n_c))
        threshold = 0.5 + _upper_quantile(1.0 - self.false_alarm_rate) * spread
        return MultivariateResult("domain_classifier", auc, threshold, None, 0.5, current.height)

    def _out_of_fold(self, x: F64, y: F64, profile: ReferenceProfile) -> F64:
        rng = np.random.default_rng(self.seed)
        fold = np.empty(y.size, dtype=np.int64)
        for label in (0.0, 1.0):
            members = np.flatnonzero(y == label)
            fold[rng.permutation(members)] = np.arange(members.size) % self.folds
        names = list(profile.columns)
        categorical = [
            i for i, c in enumerate(profile.columns.values()) if isinstance(c, CategoricalReference)
        ]
        params = {**CLASSIFIER_PARAMS, **(self.params or {})}
        scores = np.empty(y.size)
        for k in range(self.folds):
            test = fold == k
            model = _classifier(params, seed=self.seed + k)
            model.fit(x[~test], y[~test], names=names, categorical=categorical)
            scores[test] = model.predict(x[test])
        return scores


def _canonical_order(rows: F64) -> F64:
    """The rows sorted by their values, so that the folds, and with them the verdict, depend on
    which rows a chunk holds and never on the order they were stored in (prediction ids are
    random, so the order of a chunk's rows differs between two runs of the same traffic)."""
    if rows.shape[0] < 2 or rows.shape[1] == 0:
        return rows
    return rows[np.lexsort(rows.T[::-1])]


class PCAReconstruction:
    """Mean PCA reconstruction error of a chunk's rows, against an out-of-sample band."""

    def __init__(
        self,
        *,
        columns: Sequence[str] | None = None,
        variance: float = 0.65,
        max_rows: int = 50_000,
        false_alarm_rate: float = 0.01,
        seed: int = 0,
    ) -> None:
        self.columns = columns
        self.variance = variance
        self.max_rows = max_rows
        self.false_alarm_rate = false_alarm_rate
        self.seed = seed

    def get_params(self) -> dict[str, Any]:
        """The parameters a run records."""
        return {
            "columns": None if self.columns is None else list(self.columns),
            "variance": self.variance,
            "max_rows": self.max_rows,
            "false_alarm_rate": self.false_alarm_rate,
            "seed": self.seed,
        }

    def fit(self, reference: pl.DataFrame) -> Self:
        """Fit the components on half a reference sample; measure the error on the other half."""
        if not 0.0 < self.variance <= 1.0:
            raise InvalidInput(
                f"variance must lie in (0, 1]; got {self.variance!r}", path="variance"
            )
        self.profile_ = build_reference(reference, columns=self.columns)
        sample = sample_rows(reference, self.max_rows, self.seed)
        if sample.height < 20:
            raise InvalidInput(
                f"PCA reconstruction needs at least 20 reference rows; got {sample.height}",
                path="reference",
            )
        encoded = self._encode(sample)
        half = np.random.default_rng(self.seed).permutation(sample.height) < sample.height // 2
        fitted, held = encoded[half], encoded[~half]
        self.center_ = fitted.mean(axis=0)
        scale = fitted.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.components_ = _components((fitted - self.center_) / self.scale_, self.variance)
        errors = self._errors(held)
        self.mean_error_ = float(errors.mean())
        self.sd_error_ = float(errors.std(ddof=1))
        self.held_rows_ = int(held.shape[0])
        return self

    def check(self, current: pl.DataFrame) -> MultivariateResult:
        """The chunk's mean reconstruction error and the band stationary chunks stay in."""
        if getattr(self, "components_", None) is None:
            raise NotFittedError("PCAReconstruction")
        errors = self._errors(self._encode(current))
        z = _upper_quantile(1.0 - self.false_alarm_rate / 2.0)
        half = z * self.sd_error_ * math.sqrt(1.0 / max(errors.size, 1) + 1.0 / self.held_rows_)
        value = float(errors.mean()) if errors.size else float("nan")
        return MultivariateResult(
            "pca_reconstruction",
            value,
            self.mean_error_ + half,
            self.mean_error_ - half,
            self.mean_error_,
            current.height,
        )

    def _encode(self, frame: pl.DataFrame) -> F64:
        """Standardized numeric values and reference frequencies, missing at the mean."""
        exprs = []
        for name, column in self.profile_.columns.items():
            if isinstance(column, NumericReference):
                mean = column.mean if column.mean is not None else 0.0
                exprs.append(_float(name, frame.schema[name]).fill_null(mean) - mean)
            else:
                share = column.counts / max(column.rows - column.missing, 1)
                expr = _mapped(name, column.levels, share.tolist(), 0.0)
                exprs.append(expr.fill_null(float(share.mean()) if share.size else 0.0))
        return frame.select(exprs).to_numpy().astype(np.float64)

    def _errors(self, encoded: F64) -> F64:
        z = (encoded - self.center_) / self.scale_
        restored = (z @ self.components_.T) @ self.components_
        errors: F64 = np.sqrt(((z - restored) ** 2).sum(axis=1))
        return errors


def _components(z: F64, variance: float) -> F64:
    """The leading principal axes (rows) that together explain ``variance`` of ``z``."""
    _, singular, axes = np.linalg.svd(z, full_matrices=False)
    explained = np.cumsum(singular**2) / max(float((singular**2).sum()), 1e-300)
    keep = int(np.searchsorted(explained, variance - 1e-12) + 1)
    result: F64 = axes[: min(keep, axes.shape[0])]
    return result


def _upper_quantile(p: float) -> float:
    """The standard normal quantile at ``p`` (the standard library's, exact to double precision;
    SciPy's would cost every command that opens the monitor 0.3 s of import)."""
    return NormalDist().inv_cdf(p)


def _classifier(params: dict[str, Any], *, seed: int) -> Any:
    """The domain classifier's model; LightGBM is imported when a detector is fitted, not when
    a command that only reads incidents opens the monitor."""
    from keel.models.boosting import LightGBMEstimator  # noqa: PLC0415 - see the docstring

    return LightGBMEstimator(task="binary", params=params, seed=seed)
