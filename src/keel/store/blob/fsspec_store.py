"""A ``ByteStore`` over any fsspec filesystem: local disk, memory, S3."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from keel.errors import NotFound, StorageUnavailable

TMP_DIR = ".tmp"


class FsspecByteStore:
    """Moves bytes only. Atomicity: write to a unique temporary key, then rename into place.

    On local disk the rename is ``os.replace`` (atomic on POSIX); on object stores an upload only
    becomes visible once complete, so a crash never leaves a partial object under its final key.
    """

    def __init__(self, fs: Any, root: str, url: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url

    def put_bytes(self, key: str, data: bytes) -> None:
        tmp = self._tmp_path()
        with self._io("write", key):
            with self.fs.open(tmp, "wb") as handle:
                handle.write(data)
            self._commit(tmp, key)

    def put_file(self, key: str, source: Path) -> None:
        tmp = self._tmp_path()
        with self._io("write", key):
            self.fs.put_file(str(source), tmp)
            self._commit(tmp, key)

    def create(self, key: str, data: bytes) -> bool:
        """Looks, then writes: two writers of one key may both write, and Keel only creates
        keys whose bytes the key fixes, so either write leaves the same object."""
        if self.exists(key):
            return False
        self.put_bytes(key, data)
        return True

    def create_file(self, key: str, source: Path) -> bool:
        if self.exists(key):
            return False
        self.put_file(key, source)
        return True

    def get_bytes(self, key: str) -> bytes:
        with self._io("read", key):
            data: bytes = self.fs.cat_file(self._path(key))
            return data

    def get_file(self, key: str, destination: Path) -> None:
        with self._io("read", key):
            self.fs.get_file(self._path(key), str(destination))

    def exists(self, key: str) -> bool:
        with self._io("stat", key):
            return bool(self.fs.exists(self._path(key)))

    def delete(self, key: str) -> None:
        with self._io("delete", key):
            if self.fs.exists(self._path(key)):
                self.fs.rm_file(self._path(key))

    def list(self, prefix: str) -> list[str]:
        folder = self._path(prefix)
        with self._io("list", prefix):
            if not self.fs.exists(folder):
                return []
            found = self.fs.find(folder)
        root = self.root.lstrip("/")  # the memory filesystem lists paths with a leading "/"
        keys = (str(path).lstrip("/")[len(root) + 1 :] for path in found)
        return sorted(key for key in keys if key.startswith(prefix))

    def stat(self, key: str) -> tuple[int, float | None]:
        with self._io("stat", key):
            info = self.fs.info(self._path(key))
        return int(info.get("size") or 0), modified_time(info)

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}"

    def _tmp_path(self) -> str:
        self.fs.makedirs(f"{self.root}/{TMP_DIR}", exist_ok=True)
        return f"{self.root}/{TMP_DIR}/{uuid.uuid4().hex}"

    def _commit(self, tmp: str, key: str) -> None:
        final = self._path(key)
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        try:
            self.fs.mv(tmp, final)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm_file(tmp)

    @contextmanager
    def _io(self, verb: str, key: str) -> Iterator[None]:
        """Turn fsspec and OS errors into Keel's families at this one boundary."""
        try:
            yield
        except FileNotFoundError as exc:
            raise NotFound("blob", key) from exc
        except OSError as exc:
            raise StorageUnavailable(
                f"could not {verb} '{key}' in the store at {self.url}: {exc.strerror or exc}",
                hint="check that the store URL is reachable and writable",
            ) from exc


def modified_time(info: dict[str, Any]) -> float | None:
    """The last-modified time in an fsspec ``info()`` answer, as a POSIX time, if it has one
    (local files: ``mtime``; S3: ``LastModified``; memory: ``created``)."""
    for name in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(name)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
    return None
