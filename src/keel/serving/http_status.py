"""Error family -> HTTP status, the one table every Keel HTTP interface uses (the prediction
service here, the control-plane API above it)."""

from __future__ import annotations

from keel import errors

HTTP_STATUS: dict[type[errors.KeelError], int] = {
    errors.KeelError: 500,
    errors.InvalidInput: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unauthenticated: 401,
    errors.PolicyViolation: 403,
    errors.IntegrityError: 500,
    errors.StorageUnavailable: 503,
}


def http_status(error: errors.KeelError) -> int:
    return HTTP_STATUS[errors.family_of(error)]
