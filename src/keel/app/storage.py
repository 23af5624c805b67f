"""The storage plane: find and delete blobs that no record references (``keel gc``).

An interrupted ingest or training leaves the parts it wrote before its transaction committed:
content no version, batch, run or model names. Collection keeps every blob that the database
mentions anywhere, and every blob a kept JSON blob names (a model bundle's manifest names its
pipeline, estimator and calibrator), and skips blobs younger than ``min_age``: a command
running now may be about to commit them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from keel.app.result import Result
from keel.app.use_case import use_case
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.store.blob import ContentAddressedStore
from keel.store.sql.references import DIGEST_TEXT, mentioned_digests
from keel.wiring import Keel

MANIFEST_BYTES = 1 << 20
"""JSON blobs up to this size are read for the digests they name."""


@dataclass(frozen=True)
class Garbage(Result):
    """One unreferenced blob."""

    digest: str
    size_bytes: int


@dataclass(frozen=True)
class Collection(Result):
    """What ``gc`` found (and, with ``deleted``, removed)."""

    garbage: tuple[Garbage, ...]
    kept: int
    young: int
    deleted: bool

    @property
    def size_bytes(self) -> int:
        return sum(item.size_bytes for item in self.garbage)


@use_case(Role.ADMIN, action="collecting unreferenced blobs", writes=True)
def collect_garbage(
    keel: Keel, actor: Actor, *, delete: bool = False, min_age: timedelta = timedelta(hours=1)
) -> Collection:
    """The blobs no record references, older than ``min_age``; removed only with ``delete``
    (audited). Without it, nothing changes: a dry run."""
    with keel.reader() as unit:
        referenced = mentioned_digests(unit.conn)
    referenced = _with_named(keel.blobs, referenced)
    cutoff = time.time() - min_age.total_seconds()
    garbage: list[Garbage] = []
    young = kept = 0
    for digest in keel.blobs.digests():
        if digest in referenced:
            kept += 1
            continue
        size, modified = keel.blobs.stat(digest)
        if modified is None or modified > cutoff:
            young += 1
            continue
        garbage.append(Garbage(digest, size))
    found = Collection(tuple(garbage), kept, young, delete)
    if delete and garbage:
        _delete(keel, actor, found)
    return found


def _with_named(blobs: ContentAddressedStore, referenced: set[str]) -> set[str]:
    """``referenced`` plus, transitively, the digests that referenced JSON blobs name."""
    closed, pending = set(referenced), list(referenced)
    while pending:
        digest = pending.pop()
        if not blobs.exists(digest) or blobs.stat(digest)[0] > MANIFEST_BYTES:
            continue
        body = blobs.get(digest)
        if not body.lstrip().startswith((b"{", b"[")):
            continue
        for named in DIGEST_TEXT.findall(body.decode("utf-8", "replace")):
            if named not in closed:
                closed.add(named)
                pending.append(named)
    return closed


def _delete(keel: Keel, actor: Actor, found: Collection) -> None:
    with keel.unit() as unit:
        unit.audit.append(
            actor=actor.name,
            action="store.gc",
            subject=f"store:{keel.blobs.url}",
            details={
                "blobs": len(found.garbage),
                "bytes": found.size_bytes,
                "digests": [item.digest for item in found.garbage][:1000],
            },
        )
    for item in found.garbage:
        keel.blobs.delete(item.digest)
