"""A ``keel train`` killed with SIGKILL does not stay ``running`` forever: its run is shown as
abandoned, and recorded so (with an audit event) when the next run starts."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import Keel
from tests.cli.test_training_cli import Trained, cache, trained  # noqa: F401 - fixtures used below

pytestmark = pytest.mark.slow


def _status(project: Path, run_id: str) -> str | None:
    db = project / ".keel" / "keel.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
    return None if row is None else str(row[0])


def _killed_while_training(project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    child = subprocess.Popen(
        [sys.executable, "-m", "keel", "train", "--param", "n_estimators=5000"],
        cwd=project,
        env=env | {"NO_COLOR": "1", "KEEL_COMPILED": "off"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while _status(project, "r-0002") != "running":
        assert child.poll() is None, "keel train ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)


def _trained(request: pytest.FixtureRequest) -> Path:
    """A copy of the training tests' project with run r-0001 (their ``trained`` fixture)."""
    made: Trained = request.getfixturevalue("trained")
    return made.path


def test_a_killed_training_run_is_abandoned_not_running(
    keel: Keel, request: pytest.FixtureRequest
) -> None:
    project = _trained(request)
    _killed_while_training(project)
    assert _status(project, "r-0002") == "running"  # nothing could record its end

    listed = {r["run_id"]: r for r in keel("runs", "list", "--json", cwd=project).json()}
    assert listed["r-0002"]["status"] == "abandoned"
    assert listed["r-0001"]["status"] == "succeeded"
    text = keel("runs", "list", cwd=project)
    assert "r-0002" in text.out and "abandoned" in text.out
    shown = keel("runs", "show", "r-0002", "--json", cwd=project).json()
    assert "ended without finishing it" in shown["error"]

    again = keel("train", "--param", "n_estimators=5", cwd=project)
    assert again.code == 0, again.err
    assert "code: not a git checkout" in again.out  # the project folder is not in git
    assert _status(project, "r-0002") == "abandoned"  # recorded when the next run started
    events = keel("audit", "log", "--json", cwd=project)
    assert "training.run.abandoned" in events.out, events.out[-2000:]


def test_a_live_run_stays_running(keel: Keel, request: pytest.FixtureRequest) -> None:
    """The check never abandons a run whose process is alive (this process stands for it)."""
    project = _trained(request)
    db = project / ".keel" / "keel.db"
    with sqlite3.connect(db) as conn:
        (environment,) = conn.execute("SELECT environment FROM runs WHERE id='r-0001'").fetchone()
        body = json.loads(environment)
        assert body["process"]["pid"] > 0  # recorded at run start
        body["process"]["pid"] = os.getpid()
        body["process"]["started"] = None
        conn.execute(
            "UPDATE runs SET status='running', finished_at=NULL, environment=? WHERE id='r-0001'",
            (json.dumps(body),),
        )
    listed = keel("runs", "list", "--json", cwd=project).json()
    assert listed[0]["status"] == "running"
