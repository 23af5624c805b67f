"""Where a run's code and libraries came from: the git commit and the installed package set.

An adapter of the machine, like the blob and SQL stores are of storage: it runs ``git`` and reads
the installed distributions, and hands training a plain ``Environment``. Only the composition root
uses it (``keel.wiring`` builds the trainer with it), so it sits in the adapter ring just below
that root, where the layer contract places it, not in a domain package (no I/O there) nor beside
the faces.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import socket
import subprocess
from importlib import metadata
from pathlib import Path

from keel import __version__
from keel.training.runs import Environment, RunProcess


def current_environment(project_dir: Path) -> Environment:
    commit, dirty = _git_state(project_dir)
    return Environment(
        code_version=commit,
        code_dirty=dirty,
        packages_sha256=packages_sha256(),
        python=platform.python_version(),
        keel_version=__version__,
        process=current_process(),
    )


def current_process() -> RunProcess:
    """This process: host, pid, and its start identity where the system gives one."""
    return RunProcess(socket.gethostname(), os.getpid(), _start_identity(os.getpid()))


def is_gone(process: RunProcess) -> bool:
    """True when ``process`` has certainly ended: it ran on this host and its pid is free or now
    belongs to a process started at another time. A process on another host is never judged."""
    if process.host != socket.gethostname():
        return False
    if _state(process.pid) == "Z":  # killed, not yet collected by its parent
        return True
    try:
        os.kill(process.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        pass
    if process.started is None:
        return False
    now = _start_identity(process.pid)
    return now is not None and now != process.started


def _start_identity(pid: int) -> str | None:
    """'<boot id>:<start time in clock ticks>' on Linux, else None (the pid alone is used)."""
    fields = _stat_fields(pid)
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    return f"{boot}:{fields[19]}" if len(fields) > 19 else None


def _state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state first); [] elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses


def packages_sha256() -> str:
    """sha256 over the sorted 'name==version' lines of every installed distribution."""
    lines = sorted(
        {f"{(d.metadata['Name'] or '').lower()}=={d.version}" for d in metadata.distributions()}
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _git_state(folder: Path) -> tuple[str | None, bool]:
    """(commit sha, has uncommitted changes) of the repository holding ``folder``, if any."""
    git = shutil.which("git")
    if git is None:
        return None, False
    try:
        sha = subprocess.run(  # noqa: S603 - git, resolved on PATH, with fixed arguments
            [git, "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(  # noqa: S603
            [git, "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return None, False
    return sha or None, bool(status.strip())
