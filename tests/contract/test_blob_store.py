"""The content-addressed store over real fsspec backends: local disk and memory."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from keel.errors import ConfigError, IntegrityError, InvalidInput, NotFound
from keel.store.blob import ContentAddressedStore, open_blob_store


@pytest.fixture(params=["local", "memory", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ContentAddressedStore:
    if request.param == "local":
        return open_blob_store(str(tmp_path / "store"))
    if request.param == "s3":
        return open_blob_store(request.getfixturevalue("s3_url"))
    return open_blob_store(f"memory://keel-test-{uuid.uuid4().hex}")


def test_put_returns_the_sha256_and_get_returns_the_bytes(store: ContentAddressedStore) -> None:
    data = b"lightgbm model text\n" * 100
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.get(digest) == data
    assert store.exists(digest)


def test_identical_content_is_stored_once(store: ContentAddressedStore) -> None:
    assert store.put(b"same") == store.put(b"same")


def test_files_round_trip(store: ContentAddressedStore, tmp_path: Path) -> None:
    source = tmp_path / "artifact.bin"
    source.write_bytes(os.urandom(3 << 20))
    digest = store.put_file(source)
    copy = store.get_file(digest, tmp_path / "out" / "copy.bin")
    assert copy.read_bytes() == source.read_bytes()


def test_a_corrupt_blob_is_refused(store: ContentAddressedStore, tmp_path: Path) -> None:
    digest = store.put(b"the real model")
    store.backend.put_bytes(f"sha256/{digest[:2]}/{digest}", b"a tampered model")
    with pytest.raises(IntegrityError, match="corrupt"):
        store.get(digest)
    target = tmp_path / "model.txt"
    with pytest.raises(IntegrityError):
        store.get_file(digest, target)
    assert not target.exists()


def test_a_missing_blob_is_not_found(store: ContentAddressedStore) -> None:
    with pytest.raises(NotFound):
        store.get("ab" * 32)


@pytest.mark.parametrize("digest", ["../../etc/passwd", "AB" * 32, "abc"], ids=str)
def test_digests_are_validated(store: ContentAddressedStore, digest: str) -> None:
    with pytest.raises(InvalidInput):
        store.get(digest)


def test_unknown_scheme_lists_supported_ones() -> None:
    with pytest.raises(ConfigError, match="file://, memory://, s3://"):
        open_blob_store("ftp://example/bucket")


WRITER = """
import sys
from pathlib import Path
from keel.store.blob import open_blob_store
store = open_blob_store(sys.argv[1])
print("ready", flush=True)
store.put_file(Path(sys.argv[2]))
print("done", flush=True)
"""


@pytest.mark.slow
def test_a_crash_mid_write_leaves_no_partial_blob(tmp_path: Path) -> None:
    """Kill -9 the writer at several points; the final key holds nothing or the whole file."""
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(64 << 20))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    for delay in (0.0, 0.02, 0.05, 0.1, 0.2):
        root = tmp_path / f"store-{delay}"
        with subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), str(source)], stdout=subprocess.PIPE
        ) as writer:
            assert writer.stdout is not None
            writer.stdout.readline()
            time.sleep(delay)
            writer.send_signal(signal.SIGKILL)
            writer.wait()
        final = root / "sha256" / digest[:2] / digest
        if final.exists():
            assert hashlib.sha256(final.read_bytes()).hexdigest() == digest
        store = open_blob_store(str(root))
        if store.exists(digest):
            assert store.get(digest) == source.read_bytes()


def test_create_writes_once_and_list_finds_keys_under_a_prefix(
    store: ContentAddressedStore,
) -> None:
    backend = store.backend
    assert backend.list("logs/") == []
    assert backend.create("logs/a/1.parquet", b"one")
    assert not backend.create("logs/a/1.parquet", b"other")
    assert backend.get_bytes("logs/a/1.parquet") == b"one"
    backend.put_bytes("logs/b/2.parquet", b"two")
    assert backend.list("logs/") == ["logs/a/1.parquet", "logs/b/2.parquet"]
    assert backend.list("logs/a/") == ["logs/a/1.parquet"]
    backend.delete("logs/a/1.parquet")
    backend.delete("logs/a/1.parquet")  # a missing key: no error
    assert backend.list("logs/a/") == []
