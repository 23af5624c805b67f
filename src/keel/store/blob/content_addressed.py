"""Content-addressed blobs: the key is the sha256 of the bytes, and every read verifies it.

Integrity lives here, once, above every byte backend.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from pathlib import Path

from keel.errors import IntegrityError, InvalidInput
from keel.store.ports import ByteStore
from keel.store.uri import open_byte_store

DIGEST = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in chunks so any size fits in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


class ContentAddressedStore:
    """Stores bytes under ``sha256/ab/abcdef…``; identical content is stored once."""

    def __init__(self, backend: ByteStore) -> None:
        self.backend = backend

    @property
    def url(self) -> str:
        return self.backend.url

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its sha256 hex digest."""
        digest = hashlib.sha256(data).hexdigest()
        self.backend.create(self._key(digest), data)
        return digest

    def put_file(self, source: Path) -> str:
        """Store a local file and return its digest, streaming both the hash and the copy."""
        digest = sha256_file(source)
        self.backend.create_file(self._key(digest), source)
        return digest

    def get(self, digest: str) -> bytes:
        """The bytes for ``digest``; raises ``IntegrityError`` if they no longer hash to it."""
        data = self.backend.get_bytes(self._key(digest))
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise _mismatch(digest, actual)
        return data

    def get_file(self, digest: str, destination: Path) -> Path:
        """Copy the blob to ``destination`` only if it verifies; never leaves a partial file."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=destination.parent) as scratch:
            staged = Path(scratch) / "blob"
            self.backend.get_file(self._key(digest), staged)
            actual = sha256_file(staged)
            if actual != digest:
                raise _mismatch(digest, actual)
            shutil.move(staged, destination)
        return destination

    def exists(self, digest: str) -> bool:
        return self.backend.exists(self._key(digest))

    def digests(self) -> list[str]:
        """Every digest the store holds, sorted."""
        names = (key.rsplit("/", 1)[-1] for key in self.backend.list("sha256/"))
        return sorted(name for name in names if DIGEST.fullmatch(name))

    def stat(self, digest: str) -> tuple[int, float | None]:
        """(size in bytes, last modified POSIX time or None) of a stored blob."""
        return self.backend.stat(self._key(digest))

    def delete(self, digest: str) -> None:
        """Remove a blob (garbage collection only: content may be shared by many records)."""
        self.backend.delete(self._key(digest))

    @staticmethod
    def _key(digest: str) -> str:
        if not DIGEST.fullmatch(digest):
            raise InvalidInput(f"not a sha256 hex digest: {digest!r}", path="digest")
        return f"sha256/{digest[:2]}/{digest}"


def _mismatch(expected: str, actual: str) -> IntegrityError:
    return IntegrityError(
        f"blob {expected[:12]}… is corrupt: its content hashes to {actual[:12]}…",
        hint="restore the blob from a backup or re-create the artifact; it will not be loaded",
        digest=expected,
    )


def open_blob_store(url: str) -> ContentAddressedStore:
    """The content-addressed store for a store URL (a local path, file://, memory:// or s3://)."""
    return ContentAddressedStore(open_byte_store(url))
