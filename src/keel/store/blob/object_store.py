"""A ``ByteStore`` on an S3-compatible object store (AWS S3, SeaweedFS, MinIO, ...), via s3fs.

The URL names the bucket and a prefix; options ride in its query, never a secret::

    s3://BUCKET/PREFIX?endpoint_url=http://127.0.0.1:8333&region=us-east-1

Credentials come from botocore's usual chain (``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, a profile, an instance role); ``AWS_ENDPOINT_URL`` works too.

**Atomicity.** One ``PUT`` (or the completion of a multipart upload) makes an object visible
whole, so nothing is staged under a temporary key: a writer killed mid-upload leaves no object.

**Immutability.** ``create`` sends ``If-None-Match: *``: the server refuses to replace an
object that exists, so of two writers racing for one key exactly one wins (AWS S3 since
2024-08, SeaweedFS, MinIO). A server that ignores the header would let the second writer
replace the first; for such a server set ``conditional_writes=false`` in the URL: ``create``
then looks before it writes (``HEAD``, then ``PUT``), which leaves a window in which two writers
of one key both write. Keel only ever creates a key with bytes fixed by the key (a sha256
address, or a log part named after its single writer's segment), so both writes are the same
bytes and the race is harmless (docs/scaling.md).

**Errors.** The bucket is checked when the store opens: a wrong bucket, wrong credentials or
a server that does not answer is one ``StorageUnavailable`` naming the URL, never a secret.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from keel.errors import ConfigError, NotFound, StorageUnavailable
from keel.store.blob.fsspec_store import modified_time

OPTIONS = ("endpoint_url", "region", "conditional_writes")
CONNECT_SECONDS = 3
READ_SECONDS = 60


class ObjectByteStore:
    """Moves bytes to and from one bucket prefix; integrity is the layer above's job."""

    def __init__(self, url: str) -> None:
        self.url, self.bucket, self.root, options = _parse(url)
        self.conditional = options.get("conditional_writes", "true").lower() != "false"
        self.fs = _filesystem(options)
        self._check_bucket()

    def put_bytes(self, key: str, data: bytes) -> None:
        with self._io("write", key):
            self.fs.pipe_file(self._path(key), data)

    def put_file(self, key: str, source: Path) -> None:
        with self._io("write", key):
            self.fs.put_file(str(source), self._path(key))

    def create(self, key: str, data: bytes) -> bool:
        if not self.conditional and self.exists(key):
            return False
        with self._io("write", key), _refused_as_exists() as exists:
            self.fs.pipe_file(self._path(key), data, mode="create")
        return not exists

    def create_file(self, key: str, source: Path) -> bool:
        if not self.conditional and self.exists(key):
            return False
        with self._io("write", key), _refused_as_exists() as exists:
            self.fs.put_file(str(source), self._path(key), mode="create")
        return not exists

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
        with self._io("delete", key), suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))

    def list(self, prefix: str) -> list[str]:
        with self._io("list", prefix):
            found = self.fs.find(self._path(prefix))
        start, under = len(self._path("")), self._path(prefix)
        # a filer-backed server (SeaweedFS) may list a folder left empty as an entry
        return sorted(path[start:] for path in found if path.startswith(under))

    def stat(self, key: str) -> tuple[int, float | None]:
        with self._io("stat", key):
            info = self.fs.info(self._path(key))
        return int(info.get("size") or 0), modified_time(info)

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if self.root else f"{self.bucket}/{key}"

    def _check_bucket(self) -> None:
        with self._io("open", ""):
            try:
                self.fs.ls(self.bucket, refresh=True)
            except FileNotFoundError as exc:
                raise StorageUnavailable(
                    f"the bucket '{self.bucket}' of the store at {self.url} does not exist",
                    hint="create the bucket, or correct the store URL (KEEL_STORE_URL)",
                ) from exc

    @contextmanager
    def _io(self, verb: str, key: str) -> Iterator[None]:
        """Turn s3fs, botocore and network errors into Keel's families at this one boundary."""
        try:
            yield
        except (NotFound, StorageUnavailable):
            raise
        except FileNotFoundError as exc:
            raise NotFound("blob", key) from exc
        except PermissionError as exc:
            what = f" '{key}'" if key else ""
            raise StorageUnavailable(
                f"the store at {self.url} refused to {verb}{what}: access denied",
                hint="check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and "
                "the bucket's permissions",
            ) from exc
        except Exception as exc:  # botocore, aiohttp and OS errors alike: the network boundary
            what = f"'{key}' in the store" if key else "the store"
            raise StorageUnavailable(
                f"could not {verb} {what} at {self.url}: {_safe(exc)}",
                hint="check that the store's endpoint is up and the URL is right",
            ) from exc


def _parse(url: str) -> tuple[str, str, str, dict[str, str]]:
    """The URL shown in messages, the bucket, the root path and the options."""
    parts = urlsplit(url)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - set(OPTIONS))
    host = parts.netloc.rpartition("@")[2]  # never echo credentials written into a URL
    if unknown or not host or "@" in parts.netloc:
        raise ConfigError(
            f"not a store URL Keel reads: s3://{host}{parts.path} "
            f"(unknown options: {', '.join(unknown) or 'none'}"
            f"{'; credentials in the URL' if '@' in parts.netloc else ''})",
            path="store_url",
            hint=f"s3://BUCKET/PREFIX?OPTION=VALUE with options {', '.join(OPTIONS)}; "
            "credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    bucket, prefix = parts.netloc, parts.path.strip("/")
    shown = f"s3://{bucket}/{prefix}".rstrip("/")
    if "endpoint_url" in query:
        shown += f" (endpoint {query['endpoint_url']})"
    return shown, bucket, f"{bucket}/{prefix}" if prefix else bucket, query


def _filesystem(options: dict[str, str]) -> Any:
    import s3fs  # noqa: PLC0415 - the s3 extra, imported only for s3:// stores

    client: dict[str, Any] = {}
    if "endpoint_url" in options:
        client["endpoint_url"] = options["endpoint_url"]
    if "region" in options:
        client["region_name"] = options["region"]
    config = {
        "connect_timeout": CONNECT_SECONDS,
        "read_timeout": READ_SECONDS,
        "retries": {"max_attempts": 2, "mode": "standard"},
    }
    fs = s3fs.S3FileSystem(
        client_kwargs=client,
        config_kwargs=config,
        skip_instance_cache=True,  # credentials may change between opens (tests, rotation)
        use_listings_cache=False,  # other replicas write too: never trust a cached listing
    )
    fs.retries = 2
    return fs


@contextmanager
def _refused_as_exists() -> Iterator[list[bool]]:
    """Yields a flag set when the server refused a conditional write: the key exists."""
    flag: list[bool] = []
    try:
        yield flag
    except FileExistsError:
        flag.append(True)
    except OSError as exc:
        if not _precondition_failed(exc):
            raise
        flag.append(True)


def _precondition_failed(exc: BaseException) -> bool:
    """Whether the server answered 412 (s3fs maps it to FileExistsError only when the answer
    names the If-None-Match condition, which not every server does)."""
    for error in (exc, exc.__cause__, exc.__context__):
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = response.get("Error", {}).get("Code")
            return bool(status == 412 or code == "PreconditionFailed")
    return False


def _safe(exc: BaseException) -> str:
    """An error's text with any secret the environment holds blanked out."""
    text = str(exc) or type(exc).__name__
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        secret = os.environ.get(name)
        if secret:
            text = text.replace(secret, "***")
    return text.splitlines()[0][:300]
