"""The ``model:`` and ``benchmark:`` sections of keel.yaml, typed, with safe defaults.

```yaml
model:
  kind: lightgbm                    # or logistic | linear
  params: {learning_rate: 0.05, num_leaves: 31, n_estimators: 400}
  calibration: isotonic             # or sigmoid | none
  calibration_fraction: 0.2         # of the training rows, held out to fit the calibrator
  seed: 42
  train: {where: {year: 2015}}      # optional: only these rows train (benchmark rows never do)
  search: {trials: 30, space: {num_leaves: [15, 127], learning_rate: [0.01, 0.2, log]}}
benchmark:
  sets:
    holdout: {split: time, fraction: 0.2}       # the newest 20% of the data version, frozen
    golden: {file: benchmarks/golden.parquet}   # a file in the project, frozen
    "2016": {where: {year: 2016}}               # rows matching the filter, frozen
  slices: [region, purpose]
  metrics: [roc_auc, log_loss, brier, ece]
  threshold: 0.5
  resamples: 1000
```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from keel.schema import Invalid, Strict, validate_section
from keel.training.param_names import unknown_params

Scalar = int | float | str | bool


class RowFilter(Strict):
    """Rows whose columns equal one of the listed values."""

    where: dict[str, Scalar | list[Scalar]] = Field(min_length=1)

    def values(self) -> dict[str, list[Scalar]]:
        return {k: v if isinstance(v, list) else [v] for k, v in self.where.items()}


class SearchSpec(Strict):
    """Optuna search: ``space`` maps a parameter to [low, high] or [low, high, 'log']."""

    trials: int = Field(default=30, ge=1, le=10_000)
    space: dict[str, list[float | int | str]] = Field(default_factory=dict)
    metric: str | None = None
    benchmark: str | None = None


class ModelSpec(Strict):
    kind: Literal["lightgbm", "logistic", "linear"] = "lightgbm"
    params: dict[str, Any] = Field(default_factory=dict)
    calibration: Literal["isotonic", "sigmoid", "none"] = "isotonic"
    calibration_fraction: float = Field(default=0.2, gt=0.0, lt=0.9)
    seed: int = 42
    train: RowFilter | None = None
    search: SearchSpec = Field(default_factory=SearchSpec)

    @model_validator(mode="after")
    def _known_params(self) -> ModelSpec:
        """A parameter the model kind does not know would be ignored: refuse it when the file
        is read, not when ``keel train`` runs (a typo would train the defaults)."""
        for at, names in (("params", self.params), ("search.space", self.search.space)):
            unknown = unknown_params(self.kind, names)
            if unknown:
                listed = ", ".join(repr(name) for name in unknown)
                raise Invalid(
                    f"unknown parameter(s) {listed} for model.kind '{self.kind}'; use its"
                    " parameter names (e.g. learning_rate, num_leaves, n_estimators)",
                    at=at,
                )
        return self


class BenchmarkSetSpec(Strict):
    """One frozen evaluation set: a time split, a file, or a row filter."""

    split: Literal["time", "random"] | None = None
    fraction: float | None = Field(default=None, gt=0.0, lt=1.0)
    file: str | None = None
    where: dict[str, Scalar | list[Scalar]] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> BenchmarkSetSpec:
        ways = [self.split is not None, self.file is not None, self.where is not None]
        if sum(ways) != 1:
            raise ValueError("give exactly one of split (with fraction), file or where")
        if self.split is not None and self.fraction is None:
            raise ValueError("a split needs a fraction, e.g. {split: time, fraction: 0.2}")
        return self


class BenchmarkSpec(Strict):
    sets: dict[str, BenchmarkSetSpec] = Field(
        default_factory=lambda: {"holdout": BenchmarkSetSpec(split="time", fraction=0.2)}
    )
    slices: list[str] = Field(default_factory=list)
    metrics: list[str] | None = None
    threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    resamples: int = Field(default=1000, ge=0, le=100_000)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)


def parse_section(model: type[Strict], section: Mapping[str, Any] | Strict, name: str) -> Any:
    """Validate one keel.yaml section (already typed, or a mapping); every problem names its key
    path and what was expected. ``keel.config`` validates the sections when a project opens."""
    if isinstance(section, Strict):
        return section if isinstance(section, model) else parse_section(model, dict(section), name)
    return validate_section(model, section, section=name)


def default_metrics(task: str) -> list[str]:
    """What a benchmark reports when keel.yaml does not say."""
    if task == "binary":
        return ["roc_auc", "pr_auc", "log_loss", "brier", "ece", "accuracy", "f1"]
    return ["rmse", "mae", "r2"]
