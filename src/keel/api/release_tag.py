"""The ETag of the release: what ``If-Match`` must name for a release change to go through.

The tag digests the current release and the promotions awaiting approval, so any change by
someone else (a promotion, an approval, a rollback) makes an older tag stale: the second of two
people acting on the same view gets 412 instead of overwriting the first one's change.
"""

from __future__ import annotations

import hashlib

import orjson
from fastapi import Request, Response

from keel.app import registry
from keel.errors import Conflict, InvalidInput
from keel.wiring import Keel


class PreconditionFailed(Conflict):
    """``If-Match`` names an older state of the release (answered 412)."""


class PreconditionRequired(InvalidInput):
    """A release change came without ``If-Match`` (answered 428)."""


def release_tag(keel: Keel) -> str:
    status = registry.release_status(keel).to_dict()
    digest = hashlib.sha256(orjson.dumps(status, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f'"{digest[:20]}"'


def check_if_match(request: Request, keel: Keel) -> None:
    """Refuse a release change whose ``If-Match`` is missing (428) or stale (412)."""
    sent = request.headers.get("if-match")
    if sent is None:
        raise PreconditionRequired(
            "a release change needs an If-Match header",
            path="if-match",
            hint="GET /api/v1/release and send its ETag back as If-Match",
        )
    current = release_tag(keel)
    if current not in {tag.strip() for tag in sent.split(",")} and sent.strip() != "*":
        raise PreconditionFailed(
            "the release changed since you read it",
            path="if-match",
            hint="read the release again (GET /api/v1/release) and decide on what it is now",
        )


def tagged(response: Response, keel: Keel) -> None:
    response.headers["ETag"] = release_tag(keel)
