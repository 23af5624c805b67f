"""Keel's one exception tree.

Every error Keel raises on purpose is a ``KeelError``. Interfaces map the families, not the leaves,
to an HTTP status (``keel.serving.http_status``) and a CLI exit code (``keel.cli.errors``)::

    KeelError
    ├── InvalidInput          the caller sent something malformed (a field path says where)
    │   └── ConfigError       keel.yaml or a setting is wrong
    ├── NotFound              the named entity does not exist
    ├── Conflict              the request clashes with current state (already exists, stale, raced)
    ├── PolicyViolation       allowed in form but not by policy
    │   └── PermissionDenied  the actor's role does not allow it
    ├── IntegrityError        stored bytes or records fail their checksum or hash chain
    └── StorageUnavailable    a database or blob store cannot be reached or is not migrated

Foreign errors (SQLAlchemy, fsspec, LightGBM) are translated at the adapter boundary with
``raise ... from exc`` so that messages stay public-safe: no SQL, no secrets.
"""

from __future__ import annotations

from typing import Any


class KeelError(Exception):
    """Base of every error Keel raises on purpose; carries a hint that says how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.fields = fields

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for ``--json`` output and API bodies."""
        body: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        body.update({k: v for k, v in self.fields.items() if v is not None})
        return body


class InvalidInput(KeelError):
    """Malformed input; ``path`` names the field (``records[0].income``) where one applies."""

    def __init__(
        self, message: str, *, path: str | None = None, hint: str | None = None, **fields: Any
    ) -> None:
        super().__init__(message, hint=hint, path=path, **fields)
        self.path = path


class ConfigError(InvalidInput):
    """A project file or setting is invalid; ``source`` names the file."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        path: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, path=path, hint=hint, source=source)
        self.source = source


class NotFound(KeelError):
    """The entity named by ``entity`` and ``id`` does not exist."""

    def __init__(
        self, entity: str, id: str, *, hint: str | None = None, message: str | None = None
    ) -> None:
        super().__init__(message or f"{entity} '{id}' not found", hint=hint, entity=entity, id=id)
        self.entity = entity
        self.id = id


class Conflict(KeelError):
    """The request clashes with the current state (duplicate, stale, concurrent change)."""


class PolicyViolation(KeelError):
    """The request is well-formed but a policy forbids it."""


class PermissionDenied(PolicyViolation):
    """The acting user's role does not allow the action."""


class IntegrityError(KeelError):
    """Stored data fails verification: a checksum mismatch or a broken audit chain."""


class StorageUnavailable(KeelError):
    """A database or blob store cannot be reached, or its schema is not the one Keel expects."""


FAMILIES: tuple[type[KeelError], ...] = (
    InvalidInput,
    NotFound,
    Conflict,
    PolicyViolation,
    IntegrityError,
    StorageUnavailable,
)
"""The error families that every interface must map (checked by a test)."""


def family_of(error: KeelError) -> type[KeelError]:
    """The family an error belongs to, or ``KeelError`` for the bare base class."""
    for family in FAMILIES:
        if isinstance(error, family):
            return family
    return KeelError
