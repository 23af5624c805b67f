"""Input signature compatibility: what a successor may and may not change."""

from __future__ import annotations

from keel.registry.signature import InputField, Signature


def sig(*fields: InputField) -> Signature:
    return Signature(fields)


INCOME = InputField("income", "float", True)
REGION = InputField("region", "category", False, ("north", "south"))


def test_the_same_inputs_are_compatible() -> None:
    found = sig(INCOME, REGION).compared_to(sig(INCOME, REGION))
    assert found.compatible and found.summary() == "same inputs"


def test_an_added_optional_or_dropped_column_is_compatible() -> None:
    found = sig(INCOME, InputField("channel", "category", False)).compared_to(sig(INCOME, REGION))
    assert found.compatible
    assert found.changes == ("added optional 'channel'", "no longer uses 'region'")


def test_breaking_changes_are_named() -> None:
    new = sig(
        InputField("income", "int", True),
        InputField("region", "category", True, ("north",)),
        InputField("age", "int", True),
    )
    found = new.compared_to(sig(INCOME, REGION))
    assert not found.compatible
    assert set(found.changes) == {
        "'income' changed type float -> int",
        "'region' became required",
        "'region' no longer allows south",
        "added required 'age'",
    }


def test_round_trip() -> None:
    original = sig(INCOME, REGION)
    assert Signature.from_list(original.to_list()) == original
