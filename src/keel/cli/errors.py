"""Error family -> exit code, the one table the CLI uses."""

from __future__ import annotations

from keel import errors

EXIT_CODES: dict[type[errors.KeelError], int] = {
    errors.KeelError: 1,
    errors.InvalidInput: 2,
    errors.NotFound: 3,
    errors.Conflict: 4,
    errors.PolicyViolation: 5,
    errors.IntegrityError: 6,
    errors.StorageUnavailable: 7,
    errors.Unauthenticated: 8,
}

EXIT_REFUSED_DATA = 9
"""The command ran and printed its report, but the data was refused as a whole: a batch rejected
by its contract (``keel ingest``, ``keel quarantine replay``), or ``keel score`` that scored no row.
Scripts see a failure; the report still says why."""


def exit_code(error: errors.KeelError) -> int:
    return EXIT_CODES[errors.family_of(error)]
