"""Faults the fault tests cause for real: a private PostgreSQL server they stop and start, a
size-limited filesystem they fill, and the thread count of a running server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.live import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class PrivatePostgres:
    """A PostgreSQL server of the test's own (never the shared one), on a free port."""

    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._ctl("start", "-w", "-t", "60", "-o", f"-p {self.port} -k {self.folder}")

    def stop(self) -> None:
        self._ctl("stop", "-w", "-t", "60", "-m", "fast")

    def pause(self) -> None:
        """Freeze the server and its backends (SIGSTOP): connections hang, as behind a network
        partition, instead of being refused."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, sig: int) -> None:
        lines = (self.folder / "data" / "postmaster.pid").read_text().splitlines()
        postmaster = int(lines[0])
        for pid in [postmaster, *_children(postmaster)]:
            os.kill(pid, sig)

    def _ctl(self, *args: str) -> None:
        _as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.folder / "data"),
            "-l",
            str(self.folder / "server.log"),
            *args,
        )


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def _as_postgres(*command: str) -> None:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user then."""
    if os.geteuid() == 0:
        command = ("runuser", "-u", "postgres", "--", *command)
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL server binaries in {PG_BIN}")
    folder = Path(tempfile.mkdtemp(prefix="keel-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = PrivatePostgres(folder, free_port())
    _as_postgres(
        str(PG_BIN / "initdb"),
        "-D",
        str(folder / "data"),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
    )
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def small_filesystem(folder: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of ``megabytes`` mounted on ``folder`` (created empty), unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """A file that takes every free byte of ``folder``'s filesystem."""
    ballast = folder / "ballast"
    chunk = bytes(16 << 10)
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, chunk)
    except OSError:
        pass
    finally:
        os.close(fd)
    return ballast


def threads_of(pid: int) -> int:
    """The number of threads of a running process, from the kernel."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError(f"no thread count for {pid}")
