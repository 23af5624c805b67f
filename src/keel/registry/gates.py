"""Gate checks: each policy rule applied to its evidence, with the numbers a person reads.

The evidence (benchmark estimates, paired differences, slice drops, latency, signature) is
gathered elsewhere; these functions only judge it, so every rule is testable on plain numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keel.registry.policy import LatencyGate, MetricGate, NonInferiorityGate, WorstSliceGate
from keel.registry.signature import Compatibility


@dataclass(frozen=True)
class GateCheck:
    name: str
    kind: str
    value: float | str | None
    threshold: float | str | None
    passed: bool
    interval: tuple[float, float] | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "value": self.value,
            "threshold": self.threshold,
            "passed": self.passed,
            "interval": list(self.interval) if self.interval else None,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> GateCheck:
        interval = body.get("interval")
        return cls(
            body["name"],
            body["kind"],
            body["value"],
            body["threshold"],
            bool(body["passed"]),
            (float(interval[0]), float(interval[1])) if interval else None,
            body.get("detail", ""),
        )


@dataclass(frozen=True)
class GateResult:
    """One evaluation of the policy for one model version; approvals are tied to it."""

    project: str
    seq: int
    version: int
    benchmark: str | None
    champion: int | None
    checks: tuple[GateCheck, ...]
    evaluated_at: datetime
    actor: str

    @property
    def id(self) -> str:
        return f"g-{self.seq:04d}"

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[GateCheck]:
        return [check for check in self.checks if not check.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate_result": self.id,
            "model_version": self.version,
            "benchmark": self.benchmark,
            "champion": self.champion,
            "passed": self.passed,
            "checks": [check.to_dict() for check in self.checks],
            "evaluated_at": self.evaluated_at.isoformat(),
            "actor": self.actor,
        }


@dataclass(frozen=True)
class Difference:
    """A candidate-minus-champion difference signed so that positive means better."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class SliceDrop:
    column: str
    value: str
    rows: int
    change: float  # candidate minus reference, positive means better


def metric_check(spec: MetricGate, estimate: dict[str, Any] | None, benchmark: str) -> GateCheck:
    """An absolute threshold on a benchmark metric of the candidate."""
    metric = spec.metric
    bound = f">= {spec.min:g}" if spec.min is not None else f"<= {spec.max:g}"
    threshold = spec.min if spec.min is not None else spec.max
    name = f"{metric} {bound}"
    if estimate is None:
        return GateCheck(
            name,
            "metric",
            None,
            threshold,
            False,
            detail=f"{metric} is not reported on benchmark '{benchmark}'",
        )
    value = float(estimate["value"])
    passed = (spec.min is None or value >= spec.min) and (spec.max is None or value <= spec.max)
    low, high = estimate.get("low"), estimate.get("high")
    interval = (float(low), float(high)) if low is not None and high is not None else None
    return GateCheck(name, "metric", value, threshold, passed, interval)


def non_inferiority_check(
    spec: NonInferiorityGate, difference: Difference | None, champion: int | None
) -> GateCheck:
    """Passes when the lower bound of the paired improvement is above minus the margin."""
    name = f"{spec.metric} non-inferior to champion (margin {spec.margin:g})"
    if champion is None or difference is None:
        return GateCheck(
            name, "non_inferiority", None, -spec.margin, True, detail="no champion yet"
        )
    passed = difference.low >= -spec.margin
    return GateCheck(
        name,
        "non_inferiority",
        difference.value,
        -spec.margin,
        passed,
        (difference.low, difference.high),
        f"vs v{champion}, {spec.confidence:.0%} paired bootstrap interval of the improvement",
    )


def worst_slice_check(
    spec: WorstSliceGate, drops: Sequence[SliceDrop], champion: int | None
) -> GateCheck:
    """The largest drop of any slice with enough rows against the champion on that slice.

    Degradation needs something to degrade from: before there is a champion the check passes,
    and its detail names the weakest slice against the model's own overall value, for the card.
    """
    limit = spec.worst_slice_drop
    name = f"worst slice drop of {spec.metric} <= {limit:g}"
    if not drops:
        return GateCheck(
            name,
            "worst_slice",
            None,
            limit,
            True,
            detail=f"no slice has {spec.min_rows} rows or more",
        )
    worst = min(drops, key=lambda d: d.change)
    where = f"{worst.column}={worst.value} ({worst.rows} rows) {worst.change:+.4f}"
    if champion is None:
        return GateCheck(
            name,
            "worst_slice",
            None,
            limit,
            True,
            detail=f"no champion yet; weakest slice {where} vs the model's overall value",
        )
    drop = max(0.0, -worst.change)
    return GateCheck(
        name, "worst_slice", drop, limit, drop <= limit, detail=f"{where} vs v{champion}"
    )


def latency_check(spec: LatencyGate, p99_ms: float, rows: int) -> GateCheck:
    limit = spec.latency_p99_ms
    return GateCheck(
        f"p99 latency <= {limit:g} ms (1 row)",
        "latency",
        p99_ms,
        limit,
        p99_ms <= limit,
        detail=f"{rows} single-row predictions on benchmark rows",
    )


def signature_check(compatibility: Compatibility | None, champion: int | None) -> GateCheck:
    name = "input signature compatible with champion"
    if compatibility is None or champion is None:
        return GateCheck(name, "signature", "compatible", "compatible", True, detail="no champion")
    return GateCheck(
        f"input signature compatible with v{champion}",
        "signature",
        "compatible" if compatibility.compatible else "incompatible",
        "compatible",
        compatibility.compatible,
        detail=compatibility.summary(),
    )


def integrity_check(problem: str | None) -> GateCheck:
    """Every artifact's sha256 verified on load; ``problem`` says what failed, if anything."""
    return GateCheck(
        "artifact integrity (sha256)",
        "integrity",
        "ok" if problem is None else "failed",
        "ok",
        problem is None,
        detail=problem or "model bundle and card verified",
    )
