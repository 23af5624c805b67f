"""Failures while Keel starts (a damaged database, a folder it cannot write, Ctrl-C) are one
line with a hint and the documented exit code, never a traceback."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Keel

STORAGE = 7
INTERRUPTED = 130


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("damage", "args"),
    [("random-bytes", ["status"]), ("truncated", ["data", "versions"])],
    ids=["random-bytes", "truncated"],
)
def test_a_damaged_database_is_one_line_naming_the_file(
    keel: Keel, project: Path, damage: str, args: list[str]
) -> None:
    db = project / ".keel" / "keel.db"
    if damage == "random-bytes":
        db.write_bytes(os.urandom(8192))
    else:
        os.truncate(db, 3000)
    for extra in project.joinpath(".keel").glob("keel.db-*"):
        extra.unlink()
    result = keel(*args, cwd=project)
    assert result.code == STORAGE, result.err
    assert "Traceback" not in result.err
    error, hint = _lines(result.err)
    assert error.startswith("error: the metadata database") and str(db) in error
    assert "damaged" in error and hint.startswith("hint:")


def _limited_files() -> None:  # runs in the child: files beyond 64 KiB fail with EFBIG
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))


def test_init_where_it_cannot_write_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")} | {"NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "keel", "init", "deep/proj"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=_limited_files,
    )
    assert done.returncode == STORAGE, done.stderr
    assert "Traceback" not in done.stderr
    error, hint = _lines(done.stderr)
    assert error.startswith("error: cannot create the project in deep/proj"), error
    assert hint.startswith("hint:")
    assert not (tmp_path / "deep").exists(), "a half-made project was left behind"


def test_init_under_a_file_is_one_line(keel: Keel, tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("not a folder")
    result = keel("init", "plain-file/proj")
    assert result.code == STORAGE, result.err
    assert "Traceback" not in result.err
    assert _lines(result.err)[0].startswith("error: cannot create the project in plain-file/proj")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A project folder holding only keel.yaml: its database is the silent one below."""
    example = Path(__file__).resolve().parents[2] / "examples" / "loan" / "keel.yaml"
    (tmp_path / "keel.yaml").write_text(example.read_text())
    return tmp_path


@pytest.fixture
def silent_database() -> Iterator[tuple[socket.socket, str]]:
    """A TCP port that accepts connections and never answers: opening the project waits."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.settimeout(60)
    try:
        yield server, f"postgresql+psycopg://keel@127.0.0.1:{port}/keel"
    finally:
        server.close()


def _start(project: Path, url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env |= {"NO_COLOR": "1", "KEEL_DATABASE_URL": url, "KEEL_COMPILED": "off"}
    return subprocess.Popen(
        [sys.executable, "-m", "keel", "status"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _importing(pid: int) -> bool:
    """True once the child has loaded a compiled module from site-packages: Python is up and
    importing Keel's dependencies."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False
    return "site-packages" in maps and ".so" in maps


def _interrupted(child: subprocess.Popen[str]) -> tuple[int, str]:
    child.send_signal(signal.SIGINT)
    _out, err = child.communicate(timeout=60)
    return child.returncode, err


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
def test_ctrl_c_while_importing_is_one_line_and_exit_130(
    folder: Path, silent_database: tuple[socket.socket, str]
) -> None:
    child = _start(folder, silent_database[1])
    deadline = time.monotonic() + 60
    while not _importing(child.pid) and time.monotonic() < deadline:
        time.sleep(0.002)
    code, err = _interrupted(child)
    assert code == INTERRUPTED, err
    assert "Traceback" not in err
    assert _lines(err) == ["interrupted (Ctrl-C)"]


def test_ctrl_c_while_opening_the_project_is_one_line_and_exit_130(
    folder: Path, silent_database: tuple[socket.socket, str]
) -> None:
    server, url = silent_database
    child = _start(folder, url)
    connection, _ = server.accept()  # the child is opening the project's database now
    try:
        code, err = _interrupted(child)
    finally:
        connection.close()
    assert code == INTERRUPTED, err
    assert "Traceback" not in err
    assert _lines(err) == ["interrupted (Ctrl-C)"]
