"""``FeaturePipeline``: the one code path from input rows to a model's feature matrix.

Training calls ``fit`` then ``transform``; serving loads the same pipeline with ``from_dict`` and
calls ``transform`` (``transform_records`` for JSON records builds a frame and calls it too).
The estimator contract (STYLE.md, habit 9): keyword-only parameters stored unchanged, ``fit``
returns ``self``, learned state ends in ``_`` and raises ``NotFittedError`` before ``fit``.
What each step does is described in ``numeric``, ``categorical`` and ``plan``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Self

import polars as pl

from keel.errors import InvalidInput
from keel.features.categorical import CategoricalState, learn_levels
from keel.features.errors import NotFittedError
from keel.features.frames import feature_series, record_dtype
from keel.features.matrix import FeatureMatrix
from keel.features.numeric import NumericState, learn_numeric
from keel.features.plan import Plan, build_design
from keel.features.spec import ColumnKind, FeatureSpec, ModelKind
from keel.features.stored import check_matches, decode, encode


@dataclass(frozen=True)
class _Fitted:
    schema: Mapping[str, pl.DataType]
    numeric: tuple[NumericState, ...]
    categorical: tuple[CategoricalState, ...]
    plan: Plan


class FeaturePipeline:
    """Turns a frame of input columns into a ``FeatureMatrix`` for one kind of model.

    ``spec`` is the ``features:`` section, ``columns`` the input columns and their kinds (see
    ``feature_columns``), ``model_kind`` decides the encoding (native codes for LightGBM, one-hot
    and standardized numbers for linear models). Invalid combinations raise ``InvalidInput`` here.
    """

    def __init__(
        self, *, spec: FeatureSpec, columns: Mapping[str, ColumnKind], model_kind: ModelKind
    ) -> None:
        self.spec = spec
        self.columns = columns
        self.model_kind = model_kind
        self._design = build_design(spec, columns, model_kind)
        self._fitted_state: _Fitted | None = None

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, unchanged: what a run records."""
        return {"spec": self.spec, "columns": self.columns, "model_kind": self.model_kind}

    def fit(self, frame: pl.DataFrame) -> Self:
        """Learn every statistic from ``frame`` (extra columns are ignored); returns ``self``."""
        design = self._design
        series = feature_series(frame, design.kinds)
        if frame.height == 0:
            raise InvalidInput(
                "cannot fit a feature pipeline on a frame with no rows.", path="frame"
            )
        schema = {
            name: record_dtype(kind, series[name].dtype) for name, kind in design.kinds.items()
        }
        numeric = learn_numeric(
            design.columns(series),
            frame.height,
            spec=self.spec.numeric,
            standardize=design.standardize,
            unclipped={name for name in design.numeric if schema[name] == pl.Boolean},
        )
        categorical = tuple(
            learn_levels(series[name].cast(pl.String), self.spec.categorical, name)
            for name in design.categorical
        )
        self._install(schema, numeric, categorical)
        return self

    def transform(self, frame: pl.DataFrame) -> FeatureMatrix:
        """The feature matrix of ``frame``; a missing or mistyped column raises InvalidInput."""
        return self._fitted().plan.run(frame)

    def fit_transform(self, frame: pl.DataFrame) -> FeatureMatrix:
        """``fit(frame).transform(frame)``."""
        return self.fit(frame).transform(frame)

    def to_dict(self) -> dict[str, Any]:
        """The fitted pipeline as plain JSON types, with a format version (see ``stored``)."""
        fitted = self._fitted()
        return encode(
            self.get_params(), fitted.schema, fitted.numeric, fitted.categorical, fitted.plan.names
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """A fitted pipeline from ``to_dict`` output; refuses other versions and damaged data."""
        decoded = decode(data)
        pipeline = cls(spec=decoded.spec, columns=decoded.columns, model_kind=decoded.model_kind)
        check_matches(pipeline._design, decoded)
        pipeline._install(decoded.schema, decoded.numeric, decoded.categorical)
        if pipeline.feature_names_ != decoded.feature_names:
            raise InvalidInput(
                "pipeline.state.feature_names do not match the stored state (stored"
                f" {list(decoded.feature_names)}, rebuilt {list(pipeline.feature_names_)}).",
                path="pipeline.state.feature_names",
                hint="The stored pipeline is damaged; re-fit it.",
            )
        return pipeline

    @property
    def is_fitted(self) -> bool:
        """True after ``fit`` or ``from_dict``."""
        return self._fitted_state is not None

    @property
    def feature_names_(self) -> tuple[str, ...]:
        """Output feature names, in matrix column order."""
        return self._fitted().plan.names

    @property
    def source_columns_(self) -> Mapping[str, str]:
        """Output feature name -> the input column it came from."""
        return self._fitted().plan.sources

    @property
    def input_schema_(self) -> Mapping[str, pl.DataType]:
        """Input column -> the dtype serving builds it with (the training dtype, or String)."""
        return self._fitted().schema

    @property
    def numeric_(self) -> tuple[NumericState, ...]:
        """Learned log/clip/impute/indicator/scaling state per numeric feature (derived last)."""
        return self._fitted().numeric

    @property
    def categorical_(self) -> tuple[CategoricalState, ...]:
        """Learned levels per categorical column."""
        return self._fitted().categorical

    def _fitted(self) -> _Fitted:
        if self._fitted_state is None:
            raise NotFittedError(type(self).__name__)
        return self._fitted_state

    def _install(
        self,
        schema: Mapping[str, pl.DataType],
        numeric: tuple[NumericState, ...],
        categorical: tuple[CategoricalState, ...],
    ) -> None:
        plan = Plan.build(self._design, numeric, categorical)
        self._fitted_state = _Fitted(MappingProxyType(dict(schema)), numeric, categorical, plan)

    def __repr__(self) -> str:
        state = "fitted" if self.is_fitted else "unfitted"
        return (
            f"FeaturePipeline(model_kind={self.model_kind!r}, {len(self.columns)} columns, {state})"
        )
