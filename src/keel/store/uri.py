"""Choose a backend by URL scheme, importing it only when it is used."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from keel.errors import ConfigError, StorageUnavailable

if TYPE_CHECKING:
    from keel.store.ports import ByteStore

BLOB_SCHEMES = {
    "file": ("fsspec", "file", None),
    "memory": ("fsspec", "memory", None),
    "s3": ("s3fs", "s3", "pip install 'keel[s3]'"),
}
DATABASE_DRIVERS = {
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


OBJECT_STORES = {"s3": "keel.store.blob.object_store:ObjectByteStore"}
"""Schemes whose backend is a module of its own (imported only when such a URL is opened)."""


def open_byte_store(url: str) -> ByteStore:
    """The byte backend for a store URL: an object store's own, else fsspec's."""
    scheme = _scheme(url)
    if scheme in OBJECT_STORES:
        _require(*BLOB_SCHEMES[scheme][::2])
        module, _, name = OBJECT_STORES[scheme].partition(":")
        backend: ByteStore = getattr(importlib.import_module(module), name)(url)
        return backend
    from keel.store.blob.fsspec_store import FsspecByteStore  # noqa: PLC0415 - no cycle

    fs, root = blob_filesystem(url)
    return FsspecByteStore(fs, root, url)


def is_object_store(url: str) -> bool:
    """Whether a store URL names an object store (shared by every replica) and not a folder."""
    return _scheme(url) in OBJECT_STORES


def _scheme(url: str) -> str:
    scheme = urlsplit(url).scheme
    return scheme if len(scheme) > 1 else "file"  # "C:" is a drive, not a scheme


def blob_filesystem(url: str) -> tuple[Any, str]:
    """An fsspec filesystem and the root path inside it for a store URL or a plain local path."""
    parts = urlsplit(url)
    scheme = parts.scheme if len(parts.scheme) > 1 else "file"  # "C:" is a drive, not a scheme
    if scheme not in BLOB_SCHEMES:
        supported = ", ".join(f"{name}://" for name in BLOB_SCHEMES)
        raise ConfigError(
            f"unsupported store URL scheme '{scheme}://'; supported: {supported}",
            path="store_url",
        )
    module, protocol, install = BLOB_SCHEMES[scheme]
    _require(module, install)
    fsspec = importlib.import_module("fsspec")
    root = _root(url, scheme)
    return fsspec.filesystem(protocol), root


def database_url(url: str) -> str:
    """Normalize a database URL to a SQLAlchemy URL with a driver Keel ships for."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in DATABASE_DRIVERS:
        supported = "sqlite:///PATH, postgresql://USER@HOST:PORT/DB"
        raise ConfigError(
            f"unsupported database URL scheme '{scheme}'; supported: {supported}",
            path="database_url",
        )
    driver = DATABASE_DRIVERS[scheme]
    if driver.startswith("postgresql"):
        _require("psycopg", "pip install 'keel[postgres]'")
    return f"{driver}://{rest}"


def _root(url: str, scheme: str) -> str:
    if scheme == "file":
        path = url.removeprefix("file://")
        return str(Path(path).expanduser().resolve())
    return url.split("://", 1)[1].rstrip("/")


def _require(module: str, install: str | None) -> None:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise StorageUnavailable(
            f"this URL needs the Python package '{module}', which is not installed",
            hint=install,
        ) from exc
