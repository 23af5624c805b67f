"""A run's environment: the git commit and dirty flag of the project folder, and one hash of the
installed package set."""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from keel import __version__
from keel.store.provenance import current_environment, packages_sha256

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(folder: Path, *args: str) -> str:
    command = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def test_a_folder_outside_git_has_no_code_version(tmp_path: Path) -> None:
    found = current_environment(tmp_path)
    assert (found.code_version, found.code_dirty) == (None, False)
    assert (found.python, found.keel_version) == (platform.python_version(), __version__)


@needs_git
def test_a_repository_gives_its_commit_and_whether_tracked_files_changed(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "keel.yaml").write_text("name: p\n")
    _git(tmp_path, "add", "keel.yaml")
    _git(tmp_path, "commit", "-q", "-m", "first")
    head = _git(tmp_path, "rev-parse", "HEAD")
    assert current_environment(tmp_path).code_version == head
    assert current_environment(tmp_path).code_dirty is False
    (tmp_path / "untracked.csv").write_text("a\n")  # untracked files do not make it dirty
    assert current_environment(tmp_path).code_dirty is False
    (tmp_path / "keel.yaml").write_text("name: q\n")
    assert current_environment(tmp_path).code_dirty is True


def test_the_package_set_hash_is_stable_hex() -> None:
    first = packages_sha256()
    assert len(first) == 64 and int(first, 16) >= 0
    assert packages_sha256() == first
