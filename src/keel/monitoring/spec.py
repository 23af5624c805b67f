"""The ``monitoring:`` section of keel.yaml, typed; validated when the project opens.

```yaml
monitoring:
  chunk: {rows: 500}                 # or {period: 1d}
  drift: {threshold: calibrated, false_alarm_rate: 0.01}  # or {threshold: fixed, fixed: {…}}
  multivariate: true                 # domain classifier and PCA reconstruction error
  quality: {missing_increase: 0.02, unseen_rate: 0.01, out_of_range_rate: 0.01}
  performance: {estimate: true, realized: true, metric: roc_auc, max_drop: 0.05, min_labels: 200}
  slo: {p99_ms: 10, fallback_rate: 0.02, ood_rate: 0.25, defer_rate: 0.01}
  notify: {webhook: "https://ops.example/hooks/keel", timeout_seconds: 5, retries: 3}
```
Kept apart from ``monitor`` (the checks) so that reading keel.yaml loads no statistics stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from keel.data.contract import parse_duration
from keel.monitoring.thresholds import ThresholdPolicy
from keel.monitoring.univariate import DEFAULT_STATISTICS
from keel.schema import Strict, validate_section


class ChunkSpec(Strict):
    rows: int | None = Field(default=None, ge=50)
    period: str | None = None

    @model_validator(mode="after")
    def _one(self) -> ChunkSpec:
        if (self.rows is None) == (self.period is None):
            raise ValueError("give exactly one of rows (e.g. 10000) or period (e.g. 1d)")
        if self.period is not None:
            parse_duration(self.period)
        return self


class DriftSpec(Strict):
    threshold: Literal["calibrated", "fixed"] = "calibrated"
    false_alarm_rate: float = Field(default=0.01, gt=0.0, lt=0.5)
    fixed: dict[str, float] = Field(default_factory=dict)
    statistics: list[str] = Field(default_factory=lambda: list(DEFAULT_STATISTICS))

    def policy(self, columns: int = 1) -> ThresholdPolicy:
        """``false_alarm_rate`` is per chunk: shared out over the ``columns`` monitored, so a
        stationary stream opens a drift incident in about that share of chunks, however many
        columns the model reads."""
        return ThresholdPolicy(
            method=self.threshold,
            false_alarm_rate=self.false_alarm_rate / max(columns, 1),
            fixed=self.fixed,
        )


class QualitySpec(Strict):
    missing_increase: float = Field(default=0.02, ge=0.0, le=1.0)
    unseen_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    out_of_range_rate: float = Field(default=0.01, ge=0.0, le=1.0)


class PerformanceSpec(Strict):
    estimate: bool = True
    realized: bool = True
    metric: str = "roc_auc"
    max_drop: float = Field(default=0.05, ge=0.0)
    min_labels: int = Field(default=200, ge=10)


class SloSpec(Strict):
    p99_ms: float | None = Field(default=None, gt=0.0)
    fallback_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    ood_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    defer_rate: float | None = Field(default=None, ge=0.0, le=1.0)


class NotifySpec(Strict):
    webhook: str | None = None
    allow_networks: list[str] = Field(default_factory=list)
    """Destinations refused by default (loopback, link-local, metadata services) that the
    webhook may reach all the same, as addresses or networks: ``[127.0.0.1/32]``."""
    timeout_seconds: float = Field(default=5.0, gt=0.0, le=120.0)
    retries: int = Field(default=3, ge=0, le=10)


class MonitorSpec(Strict):
    chunk: ChunkSpec = Field(default_factory=lambda: ChunkSpec(period="1d"))
    drift: DriftSpec = Field(default_factory=DriftSpec)
    multivariate: bool = True
    quality: QualitySpec = Field(default_factory=QualitySpec)
    performance: PerformanceSpec = Field(default_factory=PerformanceSpec)
    slo: SloSpec = Field(default_factory=SloSpec)
    notify: NotifySpec = Field(default_factory=NotifySpec)


def parse_monitoring(section: Mapping[str, Any] | MonitorSpec) -> MonitorSpec:
    """Validate the monitoring section (a mapping, or the section ``keel.config`` already typed
    when the project opened); every problem names its key path and what was expected."""
    if isinstance(section, MonitorSpec):
        return section
    spec: MonitorSpec = validate_section(MonitorSpec, section, section="monitoring")
    return spec
