"""The ``release:`` section of keel.yaml: the gates a model must pass and who must approve.

```yaml
release:
  benchmark: holdout            # the frozen set the gates read (default: the first one)
  gates:
    - {metric: roc_auc, min: 0.70}
    - {metric: ece, max: 0.03}
    - {non_inferior_to: champion, metric: roc_auc, margin: 0.005, confidence: 0.95}
    - {worst_slice_drop: 0.03, metric: roc_auc, min_rows: 200}
    - {latency_p99_ms: 5}
    - {signature: compatible}
  approvals: 1                  # approvers other than the requester, for a new champion
  baseline: 2                   # optional: the version the service falls back to
```
Artifact integrity is always checked; it is not a policy choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from keel.errors import ConfigError

GateKind = Literal["metric", "non_inferiority", "worst_slice", "latency", "signature"]


class GateSpec(BaseModel):
    """One gate; which kind it is follows from the keys it has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str | None = None
    min: float | None = None
    max: float | None = None
    non_inferior_to: Literal["champion"] | None = None
    margin: float = Field(default=0.0, ge=0.0)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    resamples: int = Field(default=1000, ge=100, le=100_000)
    worst_slice_drop: float | None = Field(default=None, ge=0.0)
    min_rows: int = Field(default=100, ge=1)
    latency_p99_ms: float | None = Field(default=None, gt=0.0)
    signature: Literal["compatible"] | None = None

    @property
    def kind(self) -> GateKind:
        if self.non_inferior_to is not None:
            return "non_inferiority"
        if self.worst_slice_drop is not None:
            return "worst_slice"
        if self.latency_p99_ms is not None:
            return "latency"
        if self.signature is not None:
            return "signature"
        return "metric"

    @model_validator(mode="after")
    def _one_kind(self) -> GateSpec:
        special = [
            self.non_inferior_to is not None,
            self.worst_slice_drop is not None,
            self.latency_p99_ms is not None,
            self.signature is not None,
        ]
        bounds = self.min is not None or self.max is not None
        if sum(special) + bounds != 1:
            raise ValueError(
                "a gate is one of: {metric, min|max}, {non_inferior_to: champion, metric},"
                " {worst_slice_drop, metric}, {latency_p99_ms}, {signature: compatible}"
            )
        needs_metric = (
            bounds or self.non_inferior_to is not None or self.worst_slice_drop is not None
        )
        if needs_metric and not self.metric:
            raise ValueError("this gate needs a metric, e.g. metric: roc_auc")
        return self


class ReleasePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    benchmark: str | None = None
    gates: list[GateSpec] = Field(default_factory=list)
    approvals: int = Field(default=0, ge=0, le=10)
    latency_rows: int = Field(default=200, ge=10, le=100_000)
    baseline: int | None = Field(default=None, ge=1)
    """A model version (e.g. a logistic regression) the service falls back to."""


def parse_policy(section: Mapping[str, Any]) -> ReleasePolicy:
    """Validate the release section; the error names the key path and what was expected."""
    try:
        return ReleasePolicy.model_validate(dict(section))
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(["release", *(str(p) for p in first["loc"])])
        raise ConfigError(f"{path}: {first['msg']}", path=path) from None
