"""How rows reach the pipeline: accepted Polars types, and frames built from JSON records.

A feature column may arrive as any Polars type that converts without loss of meaning: numeric
features as any integer, float or boolean type; categorical features as String, Categorical or
Enum. A column of type Null (every value missing) fits either kind. Extra columns are ignored.

Serving builds its frame from JSON records with the dtypes seen in training, then calls the same
``transform`` as training does, so the two paths cannot compute different features.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy.typing as npt
import polars as pl

from keel.errors import InvalidInput
from keel.features.spec import ColumnKind

_NUMERIC: tuple[pl.DataType, ...] = (
    pl.Int8(),
    pl.Int16(),
    pl.Int32(),
    pl.Int64(),
    pl.UInt8(),
    pl.UInt16(),
    pl.UInt32(),
    pl.UInt64(),
    pl.Float32(),
    pl.Float64(),
    pl.Boolean(),
)
DTYPES: MappingProxyType[str, pl.DataType] = MappingProxyType(
    {str(dtype): dtype for dtype in (*_NUMERIC, pl.String())}
)
"""The dtypes a fitted pipeline records for its input columns, by name (``Int64``, ``String``)."""

_EXPECTED = {
    "numeric": "an integer, float or boolean column",
    "categorical": "a String, Categorical or Enum column",
}


@functools.lru_cache(maxsize=256)
def is_compatible(kind: ColumnKind, dtype: pl.DataType) -> bool:
    """True if a column of ``dtype`` can feed a feature of ``kind`` (cached: called per column
    per ``transform``)."""
    if dtype == pl.Null:
        return True
    if kind == "numeric":
        return dtype.is_numeric() or dtype == pl.Boolean
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)


def record_dtype(kind: ColumnKind, dtype: pl.DataType) -> pl.DataType:
    """The dtype that serving builds a column with: the training one where JSON can carry it."""
    if kind == "categorical":
        return pl.String()
    return next((known for known in _NUMERIC if dtype == known), pl.Float64())


def feature_series(frame: pl.DataFrame, kinds: Mapping[str, ColumnKind]) -> dict[str, pl.Series]:
    """The feature columns of ``frame``; raises ``InvalidInput`` naming every missing column, or
    the first one whose type does not fit its kind."""
    present = set(frame.columns)
    missing = [name for name in kinds if name not in present]
    if missing:
        raise InvalidInput(
            f"the frame lacks feature column(s) {', '.join(map(repr, missing))};"
            f" it has {', '.join(map(repr, frame.columns))}.",
            path=missing[0],
            hint="Send every column the pipeline was fitted on (extra columns are ignored).",
        )
    series = {name: frame.get_column(name) for name in kinds}
    for name, kind in kinds.items():
        dtype = series[name].dtype
        if not is_compatible(kind, dtype):
            raise InvalidInput(
                f"column {name!r} is a {kind} feature and must be {_EXPECTED[kind]}; got {dtype}.",
                path=name,
                hint="Cast the column to the type it had in training.",
            )
    return series


def numbers(series: pl.Series) -> npt.NDArray[Any]:
    """A numeric series as a NumPy array, to be converted to float64 on assignment.

    Integers and floats come as they are (a column with nulls comes as float64 with NaN);
    booleans, decimals and all-null columns are cast to Float64 first.
    """
    dtype = series.dtype
    if not (dtype.is_integer() or dtype.is_float()):
        series = series.cast(pl.Float64)
    return series.to_numpy()


def records_frame(
    records: Sequence[Mapping[str, object]], schema: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """A frame of ``records`` with exactly ``schema``; bad records raise ``InvalidInput``.

    Values are checked first (Polars would silently turn 1.5 into 1 in an integer column, 3 into
    "3" in a string column, and an absent key into null): every record must carry every column,
    as null or a JSON value of the column's type.
    """
    checks = [(name, _ACCEPTED[_json_type(dtype)], dtype) for name, dtype in schema.items()]
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise InvalidInput(
                f"records[{index}] must be an object; got {type(record).__name__}.",
                path=f"records[{index}]",
            )
        for name, accepted, dtype in checks:
            value = record.get(name, _ABSENT)
            if value is not None and not isinstance(value, accepted):
                raise _bad_value(index, name, dtype, value)
    try:
        return pl.from_dicts(records, schema=dict(schema), strict=True)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError) as exc:
        raise InvalidInput(
            f"records do not fit the training types {dict(schema)}: {exc}".splitlines()[0],
            path="records",
            hint="Send numbers within the range of the training column types.",
        ) from exc


_ABSENT = object()
_ACCEPTED: dict[str, tuple[type, ...]] = {
    "a string": (str,),
    "true or false": (bool,),
    "an integer": (int,),
    "a number": (int, float),
}


def _bad_value(index: int, name: str, dtype: pl.DataType, value: object) -> InvalidInput:
    path = f"records[{index}].{name}"
    if value is _ABSENT:
        return InvalidInput(
            f"{path} is absent; every record must carry every feature.",
            path=path,
            hint="Send null for a missing value.",
        )
    return InvalidInput(
        f"{path} must be {_json_type(dtype)} or null; got {value!r}.",
        path=path,
        hint=f"Send {name} with the type it had in training ({dtype}).",
    )


def _json_type(dtype: pl.DataType) -> str:
    if dtype == pl.String:
        return "a string"
    if dtype == pl.Boolean:
        return "true or false"
    return "an integer" if dtype.is_integer() else "a number"
