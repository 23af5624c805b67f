# ruff: noqa: F811  (the fixtures imported from the training suite are test arguments here)
"""The registry from the command line: register, gate, promote, approve, release, as users would.

Works on copies of the trained template project of the training suite (one small run, r-0001).
The latency gate is taken out of the loan policy here: its number depends on how busy the
machine is, and the contract suite tests that gate with thresholds far from any real value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Keel, Result
from tests.cli.test_training_cli import (  # noqa: F401  (fixtures, used as arguments)
    SMALL,
    Trained,
    _configure,
    _ok,
    _one_error_line,
    cache,
    trained,
)


def _without_latency(config: dict[str, Any]) -> None:
    config["release"]["gates"] = [
        g for g in config["release"]["gates"] if "latency_p99_ms" not in g
    ]


def _user(
    keel: Keel, project: Path, name: str, role: str, env: dict[str, str] | None = None
) -> dict[str, str]:
    body = _ok(keel("users", "add", name, "--role", role, "--json", cwd=project, env=env))
    return {"KEEL_API_KEY": body["api_key"]}


def _status(keel: Keel, project: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = _ok(keel("release", "status", "--json", cwd=project, env=env))
    return body


@pytest.mark.slow
def test_register_gate_promote_approve_and_roll_back(keel: Keel, trained: Trained) -> None:
    project = trained.path
    _configure(project, _without_latency)
    assert _ok(keel("register", "r-0001", "--json", cwd=project))["model_version"] == 1
    before = _status(keel, project)
    assert before == {
        "release": None,
        "champion": None,
        "shadow": [],
        "canary": None,
        "pending": [],
    }
    gate = _ok(keel("gate", "v1", "--json", cwd=project))
    assert gate["passed"] is True
    for check in gate["checks"]:
        assert {"name", "value", "threshold", "passed"} <= set(check)
    root = _user(keel, project, "root", "admin")  # the first user: from now on a key is needed
    alice = _user(keel, project, "alice", "approver", env=root)
    olga = _user(keel, project, "olga", "operator", env=root)
    requested = _ok(keel("release", "promote", "v1", "--json", cwd=project, env=olga))
    assert requested["applied"] is False  # the loan policy needs one approval
    assert requested["request"]["approvals_needed"] == 1
    audit = _ok(keel("audit", "log", "--json", cwd=project, env=root))
    keyless = keel("approve", "v1", cwd=project)  # without a key nobody is acting, not an admin
    assert keyless.code == 8
    _one_error_line(keyless, naming="KEEL_API_KEY")
    _one_error_line(keel("approve", "v1", cwd=project, env=olga), naming="approver role")
    assert _ok(keel("audit", "log", "--json", cwd=project, env=root)) == audit  # nothing changed
    assert _status(keel, project, root)["champion"] is None
    approved = _ok(
        keel("approve", "v1", "--note", "read the card", "--json", cwd=project, env=alice)
    )
    assert approved["applied"] is True
    shown = keel("release", "status", cwd=project, env=root).out
    assert "promote requested by olga, approved by alice" in shown  # not "promote by alice"
    status = _status(keel, project, root)
    assert (status["release"], status["champion"], status["shadow"], status["canary"]) == (
        "rel-0001",
        1,
        [],
        None,
    )
    second = _ok(keel("train", *SMALL, "--seed", "7", "--json", cwd=project, env=root))
    assert (
        _ok(keel("register", second["run_id"], "--json", cwd=project, env=root))["model_version"]
        == 2
    )
    gated = keel("gate", "2", "--json", cwd=project, env=root)  # passes or not: its seed decides
    assert gated.code == (0 if gated.json()["passed"] else 1) and gated.json()["champion"] == 1
    _ok(keel("release", "shadow", "v2", "--json", cwd=project, env=root))
    _ok(
        keel(
            "release",
            "canary",
            "v2",
            "--share",
            "10",
            "--override",
            "drill",
            "--json",
            cwd=project,
            env=root,
        )
    )
    status = _status(keel, project, root)
    assert status["shadow"] == [2] and status["canary"] == {"version": 2, "share": 10.0}
    back = _ok(keel("release", "rollback", "--reason", "drill", "--json", cwd=project, env=root))
    assert back["canary"] is None and back["shadow"] == [2] and back["reason"] == "drill"
    history = _ok(keel("release", "history", "--json", cwd=project, env=root))
    assert [h["action"] for h in history] == ["rollback", "canary", "shadow", "promote"]
    paused = _ok(keel("release", "pause", "--reason", "drill", "--json", cwd=project, env=root))
    assert paused["paused"] is True and paused["action"] == "pause"
    assert _status(keel, project, root)["paused"] is True
    resumed = _ok(keel("release", "resume", "--json", cwd=project, env=root))
    assert resumed["paused"] is False and resumed["champion"] == paused["champion"]
    actions = [e["action"] for e in _ok(keel("audit", "log", "--json", cwd=project, env=root))]
    for action in (
        "registry.register",
        "registry.gate",
        "release.promote.requested",
        "registry.approve",
        "release.promote",
        "release.rollback",
        "release.pause",
        "release.resume",
    ):
        assert action in actions, action
    assert _ok(keel("audit", "verify", "--json", cwd=project, env=root))["ok"] is True


@pytest.mark.slow
def test_a_failed_gate_exits_non_zero_and_blocks_promotion(keel: Keel, trained: Trained) -> None:
    project = trained.path

    def strict(config: dict[str, Any]) -> None:
        config["release"]["gates"] = [{"metric": "roc_auc", "min": 0.99}]

    _configure(project, strict)
    _ok(keel("register", "r-0001", "--json", cwd=project))
    result = keel("gate", "v1", "--json", cwd=project)
    assert result.code == 1
    failed = [c for c in json.loads(result.out)["checks"] if not c["passed"]]
    assert [(c["name"], c["threshold"]) for c in failed] == [("roc_auc >= 0.99", 0.99)]
    _one_error_line(keel("release", "promote", "v1", cwd=project), naming="the gate failed")
    _one_error_line(keel("register", "r-0099", cwd=project), naming="r-0099")
    _one_error_line(keel("gate", "v9", cwd=project), naming="v9")
    _one_error_line(keel("gate", "other/v1", cwd=project), naming="not a model version")
    listed = _ok(keel("models", "list", "--json", cwd=project))
    assert [(m["model"], m["role"]) for m in listed] == [("loan-default/v1", None)]
    narrow = _ok_text(keel("models", "list", cwd=project, env={"COLUMNS": "80"}))
    assert "loan-default/v1" in narrow and "r-0001" in narrow  # ids are never folded at 80
    shown = _ok(keel("models", "show", "v1", "--json", cwd=project))
    assert shown["gate"]["passed"] is False and shown["run_id"] == "r-0001"


def _ok_text(result: Result) -> str:
    assert result.code == 0, result.err
    return result.out
