"""Roles and keys."""

from __future__ import annotations

import pytest

from keel.errors import InvalidInput, PermissionDenied
from keel.identity import Actor, Role, hash_api_key, new_api_key, require_role


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        (Role.ADMIN, Role.APPROVER, True),
        (Role.APPROVER, Role.OPERATOR, True),
        (Role.OPERATOR, Role.APPROVER, False),
        (Role.VIEWER, Role.REVIEWER, False),
        (Role.VIEWER, Role.VIEWER, True),
    ],
    ids=str,
)
def test_roles_are_ordered(role: Role, needed: Role, allowed: bool) -> None:
    assert role.allows(needed) is allowed


def test_require_role_names_what_is_missing() -> None:
    with pytest.raises(PermissionDenied, match="needs the approver role; omar is operator"):
        require_role(Actor("omar", Role.OPERATOR, "api-key"), Role.APPROVER, action="approving")


def test_unknown_role_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidInput, match="viewer, reviewer, operator, approver, admin"):
        Role.parse("superuser")


def test_keys_are_unique_random_and_hashed() -> None:
    keys = {new_api_key() for _ in range(100)}
    assert len(keys) == 100
    key = keys.pop()
    assert key.startswith("keel_")
    assert len(key) > 40
    assert hash_api_key(key) != key
    assert len(hash_api_key(key)) == 64
