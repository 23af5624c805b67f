"""The stored form of a fitted pipeline: plain JSON types, a format name and a version.

```json
{"format": "keel.features.pipeline", "version": 1,
 "params": {"spec": {...}, "columns": {"income": "numeric"}, "model_kind": "lightgbm"},
 "state": {"input_dtypes": {"income": "Float64"},
           "numeric": [{"name": "income", "log": true, "low": 8.1, "high": 12.9, "fill": 10.8,
                        "indicator": false, "center": 0.0, "scale": 1.0}],
           "categorical": [{"name": "purpose", "levels": ["car", "home"], "folded": []}],
           "feature_names": ["income", "purpose"]}}
```

Infinite clip bounds (no clipping) and a NaN fill (``impute: none``) are stored as ``null``.
Reading checks the version first, then every field, then that the state matches the parameters,
so a stored pipeline from another version or a damaged file is refused with a clear error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError

from keel.errors import InvalidInput
from keel.features.categorical import OTHER, CategoricalState
from keel.features.frames import DTYPES
from keel.features.numeric import NumericState
from keel.features.plan import Design
from keel.features.spec import ColumnKind, FeatureSpec, ModelKind

FORMAT = "keel.features.pipeline"
VERSION = 1
_HINT = "Re-fit the pipeline, or load it with the Keel version that wrote it."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Numeric(_Strict):
    name: str
    log: bool
    low: float | None
    high: float | None
    fill: float | None
    indicator: bool
    center: float
    scale: float


class _Categorical(_Strict):
    name: str
    levels: list[str]
    folded: list[str]


class _Params(_Strict):
    spec: dict[str, Any]
    columns: dict[str, ColumnKind]
    model_kind: ModelKind


class _State(_Strict):
    input_dtypes: dict[str, str]
    numeric: list[_Numeric]
    categorical: list[_Categorical]
    feature_names: list[str]


class _Stored(_Strict):
    format: Literal["keel.features.pipeline"]
    version: int
    params: _Params
    state: _State


@dataclass(frozen=True)
class Decoded:
    """A validated stored pipeline, ready to be installed."""

    spec: FeatureSpec
    columns: dict[str, ColumnKind]
    model_kind: ModelKind
    schema: dict[str, pl.DataType]
    numeric: tuple[NumericState, ...]
    categorical: tuple[CategoricalState, ...]
    feature_names: tuple[str, ...]


def encode(
    params: Mapping[str, Any],
    schema: Mapping[str, pl.DataType],
    numeric: Sequence[NumericState],
    categorical: Sequence[CategoricalState],
    feature_names: Sequence[str],
) -> dict[str, Any]:
    """The stored form; ``params`` are ``get_params()``."""
    spec: FeatureSpec = params["spec"]
    return {
        "format": FORMAT,
        "version": VERSION,
        "params": {
            "spec": spec.model_dump(mode="json"),
            "columns": dict(params["columns"]),
            "model_kind": params["model_kind"],
        },
        "state": {
            "input_dtypes": {name: str(dtype) for name, dtype in schema.items()},
            "numeric": [_encode_numeric(state) for state in numeric],
            "categorical": [
                {"name": s.name, "levels": list(s.levels), "folded": list(s.folded)}
                for s in categorical
            ],
            "feature_names": list(feature_names),
        },
    }


def _encode_numeric(state: NumericState) -> dict[str, Any]:
    return {
        "name": state.name,
        "log": state.log,
        "low": _finite_or_none(state.low),
        "high": _finite_or_none(state.high),
        "fill": _finite_or_none(state.fill),
        "indicator": state.indicator,
        "center": state.center,
        "scale": state.scale,
    }


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def decode(data: object) -> Decoded:
    """Validate a stored pipeline; raises ``InvalidInput`` naming the first bad field."""
    _check_version(data)
    try:
        stored = _Stored.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(["pipeline", *(str(part) for part in first["loc"])])
        raise InvalidInput(f"{path}: {first['msg']}", path=path, hint=_HINT) from exc
    state = stored.state
    return Decoded(
        spec=FeatureSpec.parse(stored.params.spec),
        columns=stored.params.columns,
        model_kind=stored.params.model_kind,
        schema={name: _dtype(name, dtype) for name, dtype in state.input_dtypes.items()},
        numeric=tuple(_numeric(record) for record in state.numeric),
        categorical=tuple(_categorical(record) for record in state.categorical),
        feature_names=tuple(state.feature_names),
    )


def _check_version(data: object) -> None:
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"a stored feature pipeline must be a JSON object; got {type(data).__name__}.",
            path="pipeline",
        )
    if data.get("format") != FORMAT:
        raise InvalidInput(
            f"pipeline.format must be {FORMAT!r}; got {data.get('format')!r}.",
            path="pipeline.format",
            hint="This is not a stored feature pipeline.",
        )
    version = data.get("version")
    if isinstance(version, bool) or version != VERSION:
        raise InvalidInput(
            f"stored feature pipeline version {version!r} is not supported;"
            f" this Keel reads version {VERSION}.",
            path="pipeline.version",
            hint=_HINT,
        )


def _dtype(name: str, dtype: str) -> pl.DataType:
    if dtype not in DTYPES:
        path = f"pipeline.state.input_dtypes.{name}"
        raise InvalidInput(
            f"{path} must be one of {', '.join(DTYPES)}; got {dtype!r}.", path=path, hint=_HINT
        )
    return DTYPES[dtype]


def _numeric(record: _Numeric) -> NumericState:
    low = -math.inf if record.low is None else record.low
    high = math.inf if record.high is None else record.high
    fill = math.nan if record.fill is None else record.fill
    sane = all(math.isfinite(v) for v in (record.center, record.scale)) and record.scale > 0
    if not (sane and low <= high):
        path = f"pipeline.state.numeric.{record.name}"
        raise InvalidInput(
            f"{path} needs low <= high and a finite center and positive scale;"
            f" got {record.model_dump()}.",
            path=path,
            hint=_HINT,
        )
    return NumericState(
        record.name, record.log, low, high, fill, record.indicator, record.center, record.scale
    )


def _categorical(record: _Categorical) -> CategoricalState:
    codes = [*record.levels, *record.folded]
    if len(set(codes)) != len(codes) or OTHER in record.levels:
        path = f"pipeline.state.categorical.{record.name}"
        raise InvalidInput(
            f"{path}: levels and folded levels must be distinct and must not include {OTHER!r}.",
            path=path,
            hint=_HINT,
        )
    return CategoricalState(record.name, tuple(record.levels), tuple(record.folded))


def check_matches(design: Design, decoded: Decoded) -> None:
    """Refuse state that does not belong to the parameters it was stored with."""
    checks = {
        "input_dtypes": (tuple(decoded.schema), tuple(design.kinds)),
        "numeric": (tuple(s.name for s in decoded.numeric), design.numeric_features),
        "categorical": (tuple(s.name for s in decoded.categorical), design.categorical),
    }
    for field, (found, expected) in checks.items():
        if found != expected:
            raise InvalidInput(
                f"pipeline.state.{field} covers {list(found)}, but the parameters name"
                f" {list(expected)}.",
                path=f"pipeline.state.{field}",
                hint=_HINT,
            )
