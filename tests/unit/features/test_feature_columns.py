"""Which contract columns become features."""

from __future__ import annotations

import pytest

from keel.data import Contract, DataSchema
from keel.features import FeatureSpec, feature_columns

CONTRACT = Contract.parse(
    {
        "columns": {
            "key": {"type": "string", "unique": True},
            "coded": {"type": "string", "regex": "^[A-Z]{3}$"},
            "note": {"type": "string"},
            "seen_at": {"type": "datetime"},
            "opened_at": {"type": "datetime"},
            "active": {"type": "bool"},
            "level": {"type": "category", "values": ["lo", "hi"]},
            "amount": {"type": "float"},
            "count": {"type": "int"},
            "label": {"type": "int"},
        }
    }
)


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (
            {"entity": "key", "timestamp": "seen_at", "target": "label"},
            {
                "note": "categorical",
                "active": "numeric",
                "level": "categorical",
                "amount": "numeric",
                "count": "numeric",
            },
        ),
        (
            {},
            {
                "note": "categorical",
                "active": "numeric",
                "level": "categorical",
                "amount": "numeric",
                "count": "numeric",
                "label": "numeric",
            },
        ),
    ],
    ids=["with-roles", "without-roles"],
)
def test_kinds_in_contract_order_without_ids_datetimes_or_roles(
    roles: dict[str, str], expected: dict[str, str]
) -> None:
    columns = feature_columns(DataSchema(CONTRACT, **roles), FeatureSpec())
    assert columns == expected
    assert list(columns) == list(expected)


def test_a_passthrough_role_column_may_be_excluded() -> None:
    """The target need not be declared; naming it in exclude is not an error."""
    schema = DataSchema(CONTRACT, target="undeclared_target")
    columns = feature_columns(schema, FeatureSpec(exclude=("undeclared_target", "note")))
    assert "note" not in columns
