"""Where a run's code and libraries came from: the git commit and the installed package set.

An adapter of the machine, like the blob and SQL stores are of storage: it runs ``git`` and reads
the installed distributions, and hands training a plain ``Environment``. Only the composition root
uses it (``keel.wiring`` builds the trainer with it), so it sits in the adapter ring just below
that root, where the layer contract places it, not in a domain package (no I/O there) nor beside
the faces.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

from keel import __version__
from keel.training.runs import Environment


def current_environment(project_dir: Path) -> Environment:
    commit, dirty = _git_state(project_dir)
    return Environment(
        code_version=commit,
        code_dirty=dirty,
        packages_sha256=packages_sha256(),
        python=platform.python_version(),
        keel_version=__version__,
    )


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
