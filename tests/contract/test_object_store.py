"""The S3 backend against a real S3-compatible server (SeaweedFS): conditional writes, and one
clear error naming the URL, never the secret, when the bucket, the keys or the server is wrong."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.objectstore import SECRET_KEY, S3Server, free_ports

from keel.app.scaffold import scaffold
from keel.errors import ConfigError, StorageUnavailable
from keel.store.blob import open_blob_store
from keel.store.uri import open_byte_store

pytestmark = pytest.mark.s3


def test_create_never_replaces_an_object(s3_url: str, tmp_path: Path) -> None:
    store = open_byte_store(s3_url)
    assert store.create("parts/a.parquet", b"first")
    assert not store.create("parts/a.parquet", b"second")
    source = tmp_path / "other"
    source.write_bytes(b"third")
    assert not store.create_file("parts/a.parquet", source)
    assert store.get_bytes("parts/a.parquet") == b"first"
    assert store.list("parts/") == ["parts/a.parquet"]


def test_the_server_refuses_the_second_conditional_write(s3_url: str) -> None:
    """Not the look-before-write fallback: the refusal comes from If-None-Match itself."""
    store = open_byte_store(s3_url)
    assert store.create("k", b"one")
    with pytest.raises(OSError):  # the raw conditional PUT, as the backend sends it
        store.fs.pipe_file(store._path("k"), b"two", mode="create")  # type: ignore[attr-defined]
    assert store.get_bytes("k") == b"one"


def test_without_conditional_writes_create_looks_first(s3_server: S3Server, s3_url: str) -> None:
    """``conditional_writes=false`` (a server that ignores If-None-Match): the same outcome for
    writers one after another; the race between two at once is documented in the module."""
    store = open_byte_store(s3_url.replace("?", "?conditional_writes=false&"))
    assert store.create("k", b"one")
    assert not store.create("k", b"two")
    assert store.get_bytes("k") == b"one"


def test_content_addressed_blobs_round_trip_on_s3(s3_url: str) -> None:
    blobs = open_blob_store(s3_url)
    digest = blobs.put(b"model bytes")
    assert digest == hashlib.sha256(b"model bytes").hexdigest()
    assert blobs.put(b"model bytes") == digest
    assert blobs.get(digest) == b"model bytes"


def test_a_wrong_bucket_is_one_clear_error(s3_server: S3Server, s3_url: str) -> None:
    url = s3_server.url("p", bucket="no-such-bucket")
    with pytest.raises(StorageUnavailable, match="bucket 'no-such-bucket'") as caught:
        open_blob_store(url)
    assert "s3://no-such-bucket/p" in caught.value.message


def test_wrong_credentials_are_refused_without_showing_the_secret(
    s3_server: S3Server, s3_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-xyz")
    with pytest.raises(StorageUnavailable) as caught:
        open_blob_store(s3_url).put(b"x")
    text = f"{caught.value.message} {caught.value.hint}"
    assert "s3://keel-test/" in text
    assert "not-the-secret-xyz" not in text and SECRET_KEY not in text
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    assert open_byte_store(s3_url).list("") == []  # nothing was written


def test_a_server_that_does_not_answer_is_one_clear_error(
    s3_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (port,) = free_ports(1)  # nobody listens there
    url = f"s3://keel-test/p?endpoint_url=http://127.0.0.1:{port}"
    with pytest.raises(StorageUnavailable, match=f"127.0.0.1:{port}"):
        open_blob_store(url)


@pytest.mark.parametrize(
    "url",
    ["s3://bucket/p?secret=abc", "s3://key:secret@bucket/p", "s3:///p"],
    ids=["unknown-option", "credentials-in-url", "no-bucket"],
)
def test_malformed_s3_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_blob_store(url)
    assert "secret" not in caught.value.message.replace("unknown options: secret", "")


def test_the_cli_shows_one_line_naming_the_url_and_never_the_secret(
    s3_server: S3Server, tmp_path: Path
) -> None:
    """``keel status`` with wrong keys: the error family's exit code, no traceback."""
    scaffold(tmp_path / "proj", "loan")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEEL_", "AWS_"))}
    env |= s3_server.env | {"AWS_SECRET_ACCESS_KEY": "wrong-secret-123", "NO_COLOR": "1"}
    env["KEEL_STORE_URL"] = s3_server.url("cli")
    done = subprocess.run(
        [sys.executable, "-m", "keel", "status"],
        cwd=tmp_path / "proj",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 7, output
    assert "Traceback" not in output and "wrong-secret-123" not in output
    assert output.startswith("error: ") and "s3://keel-test/cli" in output
