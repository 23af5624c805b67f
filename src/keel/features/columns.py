"""Which contract columns become features, and of which kind.

Every contract column is a feature unless it has a role (entity, timestamp, target), is listed in
``features.exclude``, is a datetime, or is an id-like string (one with a ``regex`` or ``unique``
check: such values are identifiers, and a model that learns them learns nothing that generalizes).
"""

from __future__ import annotations

from types import MappingProxyType

from keel.data.contract import ColumnSpec, ColumnType, DataSchema
from keel.errors import InvalidInput
from keel.features.spec import ColumnKind, FeatureSpec

KINDS: MappingProxyType[ColumnType, ColumnKind] = MappingProxyType(
    {
        ColumnType.INT: "numeric",
        ColumnType.FLOAT: "numeric",
        ColumnType.BOOL: "numeric",
        ColumnType.CATEGORY: "categorical",
        ColumnType.STRING: "categorical",
    }
)
"""The feature kind of each contract type; datetime columns are not features."""


def feature_columns(schema: DataSchema, spec: FeatureSpec) -> dict[str, ColumnKind]:
    """Every contract column used as a feature, in contract order, with its kind."""
    check_exclude(schema, spec)
    skipped = {schema.entity, schema.timestamp, schema.target, *spec.exclude}
    return {
        name: KINDS[column.type]
        for name, column in schema.specs.items()
        if name not in skipped and column.type in KINDS and not is_id_like(column)
    }


def is_id_like(column: ColumnSpec) -> bool:
    """A string column with a ``regex`` or ``unique`` check holds identifiers, not features."""
    return column.type is ColumnType.STRING and (column.regex is not None or column.unique)


def check_exclude(schema: DataSchema, spec: FeatureSpec) -> None:
    """Raise ``InvalidInput`` if ``features.exclude`` names a column the contract lacks."""
    known = schema.expected
    unknown = [name for name in spec.exclude if name not in known]
    if unknown:
        raise InvalidInput(
            f"features.exclude names {_quoted(unknown)}, which the contract does not declare;"
            f" declared columns are {_quoted(known)}.",
            path="features.exclude",
            hint="Fix the spelling, or remove the name from features.exclude.",
        )


def _quoted(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(repr(name) for name in names)
