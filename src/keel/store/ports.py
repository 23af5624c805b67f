"""Byte-level storage port: the small seam every blob backend implements.

It knows nothing of Keel's domain types. Integrity (hashing and verification) lives one layer up,
in ``keel.store.blob.content_addressed``, so backends only move bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class ByteStore(Protocol):
    """Keys are relative, '/'-separated paths validated by the caller.

    Every write is atomic: readers see either no object or the complete one, never a prefix.
    Writing an existing key replaces it atomically.
    """

    url: str

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically."""
        ...

    def put_file(self, key: str, source: Path) -> None:
        """Copy a local file to ``key`` atomically, streaming (files may exceed memory)."""
        ...

    def create(self, key: str, data: bytes) -> bool:
        """Store ``data`` under ``key`` only if ``key`` holds nothing; False if it did (then
        nothing is written). Backends that can, make this one conditional write."""
        ...

    def create_file(self, key: str, source: Path) -> bool:
        """``create`` from a local file, streaming."""
        ...

    def get_bytes(self, key: str) -> bytes:
        """The bytes at ``key``; raises ``NotFound``."""
        ...

    def get_file(self, key: str, destination: Path) -> None:
        """Stream ``key`` into a local file; raises ``NotFound``."""
        ...

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds an object."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` if present; never raises for a missing key."""
        ...

    def list(self, prefix: str) -> list[str]:
        """The keys under ``prefix`` (a folder-like ``a/b/``), sorted; empty if none."""
        ...

    def stat(self, key: str) -> tuple[int, float | None]:
        """(size in bytes, last modified as a POSIX time or None if unknown); ``NotFound``."""
        ...
