"""The pipeline's two compiled forms: ``Design`` (from parameters) and ``Plan`` (from state).

``Design`` is checked when a pipeline is constructed, so a bad ``features:`` section fails before
any data is read. ``Plan`` is built once from the learned state (in ``fit`` and in ``from_dict``)
and holds everything ``transform`` needs as ready Polars dtypes and NumPy arrays, so a call costs
a few native calls per column plus a fixed number of NumPy operations, whatever the row count.

Output columns, in order: numeric inputs (contract order), derived features, missing indicators,
then categorical columns (one code column each when native, one column per code when one-hot).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import get_args

import numpy as np
import numpy.typing as npt
import polars as pl

from keel.errors import InvalidInput
from keel.features.categorical import CategoricalState, Coder, write_onehot
from keel.features.expressions import Expression, compile_expression
from keel.features.frames import feature_series, numbers
from keel.features.matrix import FeatureMatrix
from keel.features.numeric import INDICATOR_SUFFIX, NumericPlan, NumericState
from keel.features.spec import ColumnKind, Encoding, FeatureSpec, ModelKind

F64 = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]

CHUNK_ROWS = 8192
"""Rows per chunk of the NumPy steps: a chunk of block and output stays in the CPU cache."""


@dataclass(frozen=True)
class Design:
    """The checked, data-independent shape of a pipeline."""

    kinds: Mapping[str, ColumnKind]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    derived: Mapping[str, Expression]
    encoding: Encoding
    standardize: bool
    unseen: str

    @property
    def numeric_features(self) -> tuple[str, ...]:
        """Numeric inputs then derived features: the columns of the numeric block."""
        return (*self.numeric, *self.derived)

    def columns(self, series: Mapping[str, pl.Series]) -> Iterator[tuple[str, F64]]:
        """Numeric inputs, then derived features, as float64 columns one at a time (the values
        ``read_into`` writes, without holding them all)."""
        needed = {name for expression in self.derived.values() for name in expression.columns}
        inputs: dict[str, F64] = {}
        for name in self.numeric:
            values = np.asarray(numbers(series[name]), dtype=np.float64)
            if name in needed:
                inputs[name] = values
            yield name, values
        for name, expression in self.derived.items():
            yield name, expression.evaluate({c: inputs[c] for c in expression.columns})

    def read_into(self, series: Mapping[str, pl.Series], block: F64) -> None:
        """Numeric inputs, then derived features computed from them, into the columns of
        ``block`` (rows, numeric features), Fortran order so that each column is contiguous."""
        for j, (_, values) in enumerate(self.columns(series)):
            block[:, j] = values


def build_design(
    spec: FeatureSpec, columns: Mapping[str, ColumnKind], model_kind: ModelKind
) -> Design:
    """Check the parameters together; every problem is an ``InvalidInput`` naming its path."""
    _check_model_kind(model_kind)
    kinds = _check_columns(columns, spec)
    linear = model_kind != "lightgbm"
    encoding = spec.categorical.resolve_encoding(model_kind)
    if linear and encoding == "native":
        raise _refuse("features.categorical.encoding", "native codes mean nothing to a", model_kind)
    if linear and spec.numeric.impute == "none":
        raise _refuse("features.numeric.impute", "'none' leaves NaN, which fails a", model_kind)
    numeric = tuple(name for name, kind in kinds.items() if kind == "numeric")
    derived = _derived(spec, kinds, numeric)
    unknown = sorted(set(spec.numeric.log) - {*numeric, *derived})
    if unknown:
        raise InvalidInput(
            f"features.numeric.log names {unknown}, which are not numeric features;"
            f" numeric features are {[*numeric, *derived]}.",
            path="features.numeric.log",
        )
    categorical = tuple(name for name, kind in kinds.items() if kind == "categorical")
    unseen = spec.categorical.unseen
    return Design(kinds, numeric, categorical, derived, encoding, linear, unseen)


def _check_model_kind(model_kind: str) -> None:
    allowed = get_args(ModelKind)
    if model_kind not in allowed:
        raise InvalidInput(
            f"model_kind must be one of {', '.join(allowed)}; got {model_kind!r}.",
            path="model_kind",
        )


def _check_columns(columns: Mapping[str, ColumnKind], spec: FeatureSpec) -> dict[str, ColumnKind]:
    kinds = dict(columns)
    if not kinds:
        raise InvalidInput(
            "columns is empty; a pipeline needs at least one feature column.",
            path="columns",
            hint="Pass feature_columns(schema, spec).",
        )
    for name, kind in kinds.items():
        if kind not in get_args(ColumnKind):
            raise InvalidInput(
                f"columns[{name!r}] must be 'numeric' or 'categorical'; got {kind!r}.",
                path=f"columns.{name}",
            )
        if name in spec.exclude:
            raise InvalidInput(
                f"column {name!r} is listed in features.exclude but was passed as a feature.",
                path="features.exclude",
                hint="Pass feature_columns(schema, spec), which leaves excluded columns out.",
            )
    return kinds


def _derived(
    spec: FeatureSpec, kinds: Mapping[str, ColumnKind], numeric: tuple[str, ...]
) -> dict[str, Expression]:
    derived: dict[str, Expression] = {}
    for name, text in spec.derived.items():
        path = f"features.derived.{name}"
        if not name.strip() or name in kinds:
            raise InvalidInput(
                f"{path}: a derived feature needs a new, non-empty name; {name!r} is taken.",
                path=path,
            )
        expression = compile_expression(text, path=path)
        outside = [column for column in expression.columns if column not in numeric]
        if outside or not expression.columns:
            raise InvalidInput(
                f"{path}: {text!r} must read numeric feature columns only"
                f" (not {outside or 'constants alone'}); numeric columns are {list(numeric)}.",
                path=path,
                hint="Derived features are computed from the numeric input columns.",
            )
        derived[name] = expression
    return derived


def _refuse(path: str, problem: str, model_kind: str) -> InvalidInput:
    return InvalidInput(
        f"{path}: {problem} {model_kind} model.",
        path=path,
        hint="Use encoding auto or onehot, and impute median, mean or zero, for linear models.",
    )


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything ``transform`` needs, precomputed from the learned state."""

    design: Design
    numeric: NumericPlan
    coders: tuple[Coder, ...]
    names: tuple[str, ...]
    sources: Mapping[str, str]
    categorical: tuple[int, ...]
    """Output indices of native categorical columns."""
    offsets: Index
    """Output index of each categorical column's first column."""

    @classmethod
    def build(
        cls,
        design: Design,
        numeric: tuple[NumericState, ...],
        categorical: tuple[CategoricalState, ...],
    ) -> Plan:
        """The plan for a design and its learned states (in design order)."""
        sources = {state.name: state.name for state in numeric}
        sources |= {f"{s.name}{INDICATOR_SUFFIX}": s.name for s in numeric if s.indicator}
        offsets: list[int] = []
        native: list[int] = []
        for state in categorical:
            offsets.append(len(sources))
            if design.encoding == "native":
                native.append(len(sources))
                sources[state.name] = state.name
            else:
                sources |= {f"{state.name}={code}": state.name for code in state.codes}
        names = tuple(sources)
        _check_unique(names, numeric, categorical, design)
        return cls(
            design=design,
            numeric=NumericPlan.build(numeric, standardize=design.standardize),
            coders=tuple(Coder.build(s, unseen=design.unseen) for s in categorical),
            names=names,
            sources=MappingProxyType(sources),
            categorical=tuple(native),
            offsets=np.array(offsets, dtype=np.intp),
        )

    def run(self, frame: pl.DataFrame) -> FeatureMatrix:
        """The transform, written straight into the output matrix (Fortran order: every step
        fills or rewrites whole columns, and the matrix is the only large allocation)."""
        series = feature_series(frame, self.design.kinds)
        rows = frame.height
        width = len(self.design.numeric_features)
        indicators = self.numeric.indicators
        first_code = width + indicators.size
        out = np.empty((rows, len(self.names)), order="F")
        self.design.read_into(series, out[:, :width])
        onehot = self.design.encoding == "onehot"
        codes = np.empty((rows, len(self.coders)), order="F") if onehot else out[:, first_code:]
        for j, coder in enumerate(self.coders):
            coder.write(series[coder.name], codes[:, j])
        for start in range(0, rows, CHUNK_ROWS):
            chunk = slice(start, start + CHUNK_ROWS)
            numeric = out[chunk, :width]
            missing = NumericPlan.prepare(numeric, self.numeric.log)
            self.numeric.finish(numeric, missing)
            out[chunk, width:first_code] = missing[:, indicators]
        if onehot:
            out[:, first_code:] = 0.0
            write_onehot(out, codes, self.offsets)
        return FeatureMatrix(out, self.names, self.categorical, self.sources)


def _check_unique(
    names: tuple[str, ...],
    numeric: tuple[NumericState, ...],
    categorical: tuple[CategoricalState, ...],
    design: Design,
) -> None:
    expected = len(numeric) + sum(s.indicator for s in numeric)
    expected += sum(1 if design.encoding == "native" else s.width for s in categorical)
    if len(names) != expected:
        raise InvalidInput(
            "two features would get the same name (a column named like '<column>__missing'"
            " or '<column>=<level>' collides with a generated feature).",
            path="columns",
            hint="Rename the column, or exclude it in features.exclude.",
        )
