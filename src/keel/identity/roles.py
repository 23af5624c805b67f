"""Roles, ordered so that each one may do everything the roles below it may."""

from __future__ import annotations

from enum import StrEnum

from keel.errors import InvalidInput


class Role(StrEnum):
    """From least to most trusted; ``admin`` may do everything."""

    VIEWER = "viewer"
    REVIEWER = "reviewer"
    OPERATOR = "operator"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """True when this role is at least as trusted as ``needed``."""
        return self.rank >= needed.rank

    @classmethod
    def parse(cls, value: str) -> Role:
        """The role named ``value``, or an error listing the valid names."""
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(role.value for role in cls)
            raise InvalidInput(
                f"unknown role {value!r}; expected one of: {allowed}", path="role"
            ) from None
