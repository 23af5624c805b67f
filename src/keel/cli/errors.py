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


def exit_code(error: errors.KeelError) -> int:
    return EXIT_CODES[errors.family_of(error)]
