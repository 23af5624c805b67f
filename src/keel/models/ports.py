"""The storage port models need: content-addressed bytes, verified on read."""

from __future__ import annotations

from typing import Protocol


class ArtifactStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store bytes under their sha256 and return it (atomic; identical bytes stored once)."""
        ...

    def get(self, digest: str) -> bytes:
        """The bytes; raises ``IntegrityError`` if they no longer match ``digest``."""
        ...
