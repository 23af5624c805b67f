"""The ``features:`` section of ``keel.yaml``: every key optional, every default safe.

```yaml
features:
  numeric: {impute: median, clip_quantiles: [0.001, 0.999], log: [income], missing_indicator: true}
  categorical: {min_frequency: 0.01, max_levels: 255, unseen: other, encoding: auto}
  derived: {debt_ratio: "debt / income"}
  exclude: [some_column]
```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator

from keel.errors import InvalidInput
from keel.features.expressions import compile_expression
from keel.schema import Invalid, Strict, validate_section

ColumnKind = Literal["numeric", "categorical"]
Encoding = Literal["native", "onehot"]
ModelKind = Literal["lightgbm", "logistic", "linear"]


class NumericSpec(Strict):
    """How numeric columns (and derived features) are prepared."""

    impute: Literal["median", "mean", "zero", "none"] = "median"
    """Value that replaces a missing number; ``none`` leaves NaN (LightGBM handles it)."""
    clip_quantiles: tuple[float, float] | None = (0.001, 0.999)
    """Training quantiles outside which values are clipped; ``null`` turns clipping off."""
    log: tuple[str, ...] = ()
    """Columns transformed with a signed ``log1p`` (``sign(x) * log(1 + |x|)``)."""
    missing_indicator: bool = True
    """Add a 0/1 ``<column>__missing`` feature for each column that had gaps in training."""

    @field_validator("clip_quantiles")
    @classmethod
    def _ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0.0 <= value[0] < value[1] <= 1.0:
            raise ValueError(f"must be two quantiles with 0 <= low < high <= 1, got {list(value)}")
        return value


class CategoricalSpec(Strict):
    """How categorical columns are encoded."""

    min_frequency: float = Field(default=0.01, ge=0.0, lt=1.0)
    """Levels seen in a smaller share of training rows are folded into ``__other__``."""
    max_levels: int = Field(default=255, ge=1)
    """At most this many levels per column are kept (the most frequent); the rest are other."""
    unseen: Literal["other", "missing"] = "other"
    """What a level never seen in training becomes at predict time."""
    encoding: Literal["auto", "native", "onehot"] = "auto"
    """``auto``: native category codes for LightGBM, one-hot columns for linear models."""

    def resolve_encoding(self, model_kind: ModelKind) -> Encoding:
        """The concrete encoding for a model kind."""
        if self.encoding != "auto":
            return self.encoding
        return "native" if model_kind == "lightgbm" else "onehot"


def _compiles(text: str) -> str:
    """A derived feature's expression, refused here (at load) unless it compiles."""
    try:
        compile_expression(text, path="")
    except InvalidInput as exc:
        raise Invalid(exc.message.removeprefix(": ")) from None
    return text


class FeatureSpec(Strict):
    """The whole ``features:`` section."""

    numeric: NumericSpec = Field(default_factory=NumericSpec)
    categorical: CategoricalSpec = Field(default_factory=CategoricalSpec)
    derived: dict[str, Annotated[str, AfterValidator(_compiles)]] = Field(default_factory=dict)
    """New numeric features: name -> arithmetic expression over numeric columns."""
    exclude: tuple[str, ...] = ()
    """Contract columns never used as features (entity, timestamp and target never are)."""

    @classmethod
    def parse(cls, section: Mapping[str, Any] | FeatureSpec | None) -> FeatureSpec:
        """Validate a ``features:`` mapping (or return the section ``keel.config`` typed when the
        project opened); every problem names its key path (``features.numeric.log``)."""
        if isinstance(section, FeatureSpec):
            return section
        spec: FeatureSpec = validate_section(
            cls, section, section="features", hint="See the features section in docs."
        )
        return spec
