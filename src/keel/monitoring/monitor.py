"""Every check on one chunk of the prediction log, configured by the ``monitoring:`` section
(typed in ``keel.monitoring.spec``, whose names this module re-exports).

A realized metric breaches when it is below the reference minus ``max_drop`` and its interval
lies below the reference (a material drop that label noise does not explain).
The reference is the serving model's frozen benchmark rows, scored by that model: its inputs and
scores are what drift is measured against, and its labels calibrate the performance estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import polars as pl

from keel.data.contract import parse_duration
from keel.monitoring.incidents import Breach
from keel.monitoring.multivariate import DomainClassifier, PCAReconstruction
from keel.monitoring.performance.calibration import check_calibration
from keel.monitoring.performance.estimated import PerformanceEstimator
from keel.monitoring.performance.realized import realized_performance
from keel.monitoring.quality import QualityLimits, check_quality
from keel.monitoring.reference import Kind, build_reference
from keel.monitoring.spec import ChunkSpec, MonitorSpec
from keel.monitoring.spec import parse_monitoring as parse_monitoring  # noqa: PLC0414 - re-exported
from keel.monitoring.univariate import DriftDetector

F64 = npt.NDArray[np.float64]
SCORE = "score"
REALIZED_CONFIDENCE = 0.99  # a chunk's realized metric alarms only beyond its 99% interval


@dataclass(frozen=True)
class Chunk:
    """Logged predictions of one period or row block: inputs as columns, plus ``score``,
    ``label`` (null until an outcome arrives), ``latency_ms``, ``fallback``, ``ood`` and
    ``decision``."""

    label: str
    start: datetime
    end: datetime
    frame: pl.DataFrame


@dataclass(frozen=True)
class Reference:
    """The serving model's benchmark rows (input columns and ``score``) and their labels."""

    model: str
    frame: pl.DataFrame
    labels: F64
    features: tuple[str, ...]
    kinds: Mapping[str, Kind]
    threshold: float = 0.5


class ChunkCheck(Protocol):
    """A check a layer above monitoring adds to every chunk (the decision KPIs, for one): its
    results are stored under ``name`` with the chunk's, its breaches open incidents."""

    @property
    def name(self) -> str: ...

    def check(self, chunk: Chunk) -> tuple[dict[str, Any], list[Breach]]: ...


class ChunkChecker:
    """Fitted once on the reference, then run on every chunk of a monitor run."""

    def __init__(
        self, spec: MonitorSpec, reference: Reference, *, extra: Sequence[ChunkCheck] = ()
    ) -> None:
        self.spec = spec
        self.reference = reference
        self.extra = tuple(extra)
        columns = [*reference.features, SCORE]
        kinds = {**reference.kinds, SCORE: "numeric"}
        self.profile = build_reference(reference.frame, columns=columns, kinds=kinds)
        self.drift = DriftDetector(
            statistics=spec.drift.statistics, thresholds=spec.drift.policy(len(columns))
        ).fit(self.profile)
        self.inputs_profile = build_reference(
            reference.frame, columns=list(reference.features), kinds=reference.kinds
        )
        scores = reference.frame[SCORE].to_numpy()
        self.estimator = (
            PerformanceEstimator(
                metrics=(spec.performance.metric,), threshold=reference.threshold
            ).fit(scores, reference.labels)
            if spec.performance.estimate
            else None
        )
        self.reference_value = _metric(
            spec.performance.metric, reference.labels, scores, reference.threshold
        )
        features = reference.frame.select(reference.features)
        self.multivariate: list[DomainClassifier | PCAReconstruction] = (
            [DomainClassifier().fit(features), PCAReconstruction().fit(features)]
            if spec.multivariate
            else []
        )

    def check(self, chunk: Chunk) -> tuple[dict[str, Any], list[Breach]]:
        """Every check's result (JSON-ready) and the breaches among them."""
        frame = chunk.frame
        results: dict[str, Any] = {}
        breaches: list[Breach] = []
        drift = self.drift.check(frame.select([*self.reference.features, SCORE]))
        results["drift"] = drift.to_dict(distributions=True)
        for name in drift.drifted_columns:
            column = drift.columns[name]
            over = {s: r for s, r in column.statistics.items() if r.drifted}
            worst = max(
                over.items(), key=lambda item: item[1].value / max(item[1].threshold, 1e-12)
            )
            shown = ", ".join(f"{s} {r.value:.3g} > {r.threshold:.3g}" for s, r in over.items())
            breaches.append(
                Breach(
                    "drift",
                    f"drift {name}",
                    worst[1].value,
                    worst[1].threshold,
                    chunk.label,
                    f"{name}: {shown}",
                )
            )
        quality = check_quality(
            self.inputs_profile,
            frame.select(self.reference.features),
            limits=self._limits(frame.height),
        )
        results["quality"] = quality.to_dict()
        for name, codes in quality.alerts.items():
            for code in codes:
                check = quality.columns[name].checks[code]
                breaches.append(
                    Breach(
                        "quality",
                        f"quality {name} {code}",
                        check.rate,
                        check.limit,
                        chunk.label,
                        f"{name}: {code} {check.rate:.1%} (limit {check.limit:.1%})",
                    )
                )
        results["multivariate"] = {}
        for detector in self.multivariate:
            found = detector.check(frame.select(self.reference.features))
            results["multivariate"][found.method] = found.to_dict()
            if found.drifted:
                breaches.append(
                    Breach(
                        "drift",
                        f"multivariate {found.method}",
                        found.value,
                        found.threshold,
                        chunk.label,
                        f"{found.method} {found.value:.3g} outside its band",
                    )
                )
        breaches += self._performance(chunk, results)
        breaches += self._slo(chunk, results)
        for added in self.extra:
            results[added.name], found_extra = added.check(chunk)
            breaches += found_extra
        return results, breaches

    def _limits(self, rows: int) -> QualityLimits:
        """The configured limits; a column's missing limit also allows for the sampling noise
        of a chunk of ``rows`` (three standard errors), so small chunks do not cry wolf."""
        quality = self.spec.quality
        limits = {}
        for name, column in self.inputs_profile.columns.items():
            baseline = column.missing / max(column.rows, 1)
            rate = max(baseline, 1 / max(rows, 1))
            noise = 3 * math.sqrt(rate * (1 - rate) / max(rows, 1))
            limits[name] = min(baseline + quality.missing_increase + noise, 1.0)
        return QualityLimits(
            missing_increase=quality.missing_increase,
            unseen_rate=quality.unseen_rate,
            out_of_range_rate=quality.out_of_range_rate,
            max_missing=limits,
        )

    def _performance(self, chunk: Chunk, results: dict[str, Any]) -> list[Breach]:
        spec = self.spec.performance
        scores = chunk.frame[SCORE].to_numpy()
        breaches: list[Breach] = []
        if self.estimator is not None:
            estimated = self.estimator.estimate(scores)
            results["estimated"] = estimated.to_dict()
            for name in estimated.alerts:
                metric = estimated.metrics[name]
                breaches.append(
                    Breach(
                        "performance",
                        f"estimated {name}",
                        metric.value,
                        metric.reference,
                        chunk.label,
                        f"estimated {name} {metric.value:.3f} [{metric.low:.3f},"
                        f" {metric.high:.3f}] (reference {metric.reference:.3f})",
                    )
                )
        if spec.realized:
            labels = chunk.frame["label"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            realized = realized_performance(
                labels,
                scores,
                metrics=(spec.metric,),
                min_labels=spec.min_labels,
                confidence=REALIZED_CONFIDENCE,
            )
            results["realized"] = realized.to_dict()
            found = realized.metrics.get(spec.metric)
            floor = self.reference_value - spec.max_drop
            # material (below the floor) and not label noise (the interval excludes the reference)
            if (
                found is not None
                and found.value < floor
                and found.high is not None
                and found.high < self.reference_value
            ):
                breaches.append(
                    Breach(
                        "performance",
                        f"realized {spec.metric}",
                        found.value,
                        floor,
                        chunk.label,
                        f"realized {spec.metric} {found.value:.3f} on {realized.labelled:,}"
                        f" labelled rows (floor {floor:.3f})",
                    )
                )
            if realized.labelled >= spec.min_labels:
                calibration = check_calibration(labels, scores)
                results["calibration"] = calibration.to_dict()
                if not calibration.holds:
                    breaches.append(
                        Breach(
                            "performance",
                            "calibration",
                            calibration.ece,
                            calibration.ece_threshold,
                            chunk.label,
                            f"calibration no longer holds: ECE {calibration.ece:.3f}"
                            f" (limit {calibration.ece_threshold:.3f}) on {realized.labelled:,}"
                            " labelled rows",
                        )
                    )
        results["reference"] = {spec.metric: self.reference_value}
        return breaches

    def _slo(self, chunk: Chunk, results: dict[str, Any]) -> list[Breach]:
        frame, slo = chunk.frame, self.spec.slo
        rows = max(frame.height, 1)
        latency = frame["latency_ms"].drop_nulls().to_numpy()
        measured = {
            "p50_ms": float(np.percentile(latency, 50)) if latency.size else None,
            "p99_ms": float(np.percentile(latency, 99)) if latency.size else None,
            "fallback_rate": frame["fallback"].is_not_null().sum() / rows,
            "ood_rate": (frame["ood"].list.len() > 0).sum() / rows,
            "defer_rate": (frame["decision"] == "defer").sum() / rows,
        }
        results["slo"] = measured
        breaches = []
        for name, limit in (
            ("p99_ms", slo.p99_ms),
            ("fallback_rate", slo.fallback_rate),
            ("ood_rate", slo.ood_rate),
            ("defer_rate", slo.defer_rate),
        ):
            value = measured[name]
            if limit is not None and value is not None and value > limit:
                breaches.append(
                    Breach(
                        "slo",
                        f"slo {name}",
                        float(value),
                        limit,
                        chunk.label,
                        f"{name} {value:.3g} > {limit:g}",
                    )
                )
        return breaches


def _metric(name: str, labels: F64, scores: F64, threshold: float) -> float:
    from keel.evaluation import MetricParams, get_metric  # noqa: PLC0415

    return get_metric(name).score(labels, scores, MetricParams(threshold=threshold))


def split_chunks(
    frame: pl.DataFrame,
    spec: ChunkSpec,
    *,
    now: datetime,
    flush: bool = False,
    rows_before: int = 0,
) -> list[Chunk]:
    """Complete chunks of ``frame`` (sorted by ``time``); with ``flush``, the trailing partial
    one too. A chunk never splits rows of the same time, so the watermark is exact. Row chunks
    are labelled by position in the run, counting ``rows_before`` rows chunked before ``frame``."""
    if frame.is_empty():
        return []
    frame = frame.sort("time", "prediction_id")
    if spec.period is not None:
        every = parse_duration(spec.period)
        keyed = frame.with_columns(pl.col("time").dt.truncate(every).alias("_chunk"))
        chunks = []
        for (start,), part in keyed.group_by("_chunk", maintain_order=True):
            begin = start if isinstance(start, datetime) else now
            end = begin + every
            if end > now and not flush:
                break
            chunks.append(Chunk(f"{begin:%Y-%m-%d %H:%M}", begin, end, part.drop("_chunk")))
        return chunks
    size = spec.rows or 1
    times = frame["time"]
    chunks, first = [], 0
    while first < frame.height:
        last = min(first + size, frame.height)
        while last < frame.height and times[last] == times[last - 1]:
            last += 1
        if last - first < size and not flush:
            break
        part = frame.slice(first, last - first)
        label = f"rows {rows_before + first + 1}-{rows_before + last}"
        chunks.append(Chunk(label, part["time"][0], part["time"][-1], part))
        first = last
    return chunks


def breaches_json(breaches: Sequence[Breach]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in breaches]
