"""Run the real ``keel`` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Keel = Callable[..., Result]


@pytest.fixture
def keel(tmp_path: Path) -> Keel:
    """``keel(*args, cwd=..., env=...)`` runs the command and returns its exit code and output."""

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
    ) -> Result:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
        environ |= {"COLUMNS": "200", "KEEL_COMPILED": "off", "NO_COLOR": "1"} | (env or {})
        done = subprocess.run(
            [sys.executable, "-m", "keel", *args],
            cwd=cwd or tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def project(keel: Keel, tmp_path: Path) -> Path:
    """A freshly initialised loan project."""
    result = keel("init", "proj", "--example", "loan")
    assert result.code == 0, result.err
    return tmp_path / "proj"
