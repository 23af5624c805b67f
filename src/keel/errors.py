"""Keel's one exception tree.

Every error Keel raises on purpose is a ``KeelError``. Interfaces map the families, not the leaves,
to an HTTP status (``keel.serving.http_status``) and a CLI exit code (``keel.cli.errors``)::

    KeelError                 itself: a failure of no more specific family (HTTP 500, exit 1)
    ├── ModelError            a model gave no usable score (serving; the fallback chain answers)
    ├── InvalidInput          the caller sent something malformed (a field path says where)
    │   ├── ConfigError       keel.yaml or a setting is wrong
    │   ├── InvalidRecords    records that fail the contract, every problem listed (serving)
    │   └── _ClientLeft       the client left before its body arrived (serving.guard; never sent)
    ├── NotFound              the named entity does not exist
    ├── Conflict              the request clashes with current state (already exists, stale, raced)
    │   ├── NotFittedError    a pipeline or estimator used before ``fit`` (features)
    │   └── _Stopped          sealing stopped mid-segment at a deadline (segment_log; caught)
    ├── Unauthenticated       no credentials, or credentials no active user holds
    ├── PolicyViolation       allowed in form but not by policy
    │   └── PermissionDenied  the actor's role does not allow it
    ├── IntegrityError        stored bytes or records fail their checksum or hash chain
    └── StorageUnavailable    a database or blob store cannot be reached or is not migrated
        └── NoModelAnswered   every model of the fallback chain failed and none defers (serving)

The tables key on the families (and the base class itself). Every exception class anywhere in
``keel``, private ones included, is a ``KeelError``, so each has exactly one status and one exit
code; ``tests/unit/test_errors.py`` imports every module of the package to check it.
``tests/unit/test_errors.py`` imports every module of the package and checks it.

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


class Unauthenticated(KeelError):
    """No credentials were presented, or none that an active user holds (HTTP 401).

    Distinct from ``PermissionDenied`` (who is acting is known, the role is not enough): the
    fix is to present a valid key, not to ask for a role.
    """


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
    Unauthenticated,
    PolicyViolation,
    IntegrityError,
    StorageUnavailable,
)
"""The error families that every interface must map (checked by a test)."""


def family_of(error: KeelError) -> type[KeelError]:
    """The family an error belongs to, or ``KeelError`` for the bare base class."""
    return family_of_class(type(error))


def family_of_class(cls: type[KeelError]) -> type[KeelError]:
    """The family of an error class, or ``KeelError`` for one of no more specific family."""
    for family in FAMILIES:
        if issubclass(cls, family):
            return family
    return KeelError
