"""Every error family maps to an HTTP status and a CLI exit code."""

from __future__ import annotations

import pytest

from keel import errors
from keel.cli.errors import EXIT_CODES, exit_code
from keel.serving.http_status import HTTP_STATUS, http_status


@pytest.mark.parametrize("family", errors.FAMILIES, ids=lambda f: f.__name__)
def test_each_family_has_a_status_and_an_exit_code(family: type[errors.KeelError]) -> None:
    assert family in HTTP_STATUS
    assert family in EXIT_CODES


def test_families_cover_every_error_class_in_the_module() -> None:
    classes = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.KeelError)
    ]
    for cls in classes:
        if cls is not errors.KeelError:
            assert any(issubclass(cls, family) for family in errors.FAMILIES), cls


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.ConfigError("x"), 422, 2),
        (errors.NotFound("user", "ana"), 404, 3),
        (errors.PermissionDenied("no"), 403, 5),
        (errors.IntegrityError("bad"), 500, 6),
        (errors.KeelError("?"), 500, 1),
    ],
    ids=["config", "not-found", "permission", "integrity", "base"],
)
def test_leaf_errors_map_through_their_family(
    error: errors.KeelError, status: int, code: int
) -> None:
    assert http_status(error) == status
    assert exit_code(error) == code


def test_to_dict_carries_structured_fields() -> None:
    body = errors.InvalidInput(
        "bad value", path="records[0].income", hint="send a number"
    ).to_dict()
    assert body == {
        "error": "InvalidInput",
        "message": "bad value",
        "hint": "send a number",
        "path": "records[0].income",
    }
