"""``keel agent`` as a user meets it: the kill switch, the plan, the status, the journal, and
the policy's mistakes named by their key path. The agent's passes on served traffic are in
``tests/contract/test_agent_loop.py``."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.cli.conftest import Keel


def test_pause_and_resume_are_the_kill_switch(keel: Keel, project: Path) -> None:
    assert keel("db", "upgrade", cwd=project).code == 0
    status = keel("agent", "status", "--json", cwd=project)
    assert status.code == 0, status.err
    assert status.json()["controls"]["paused"] is False and status.json()["open"] == []
    paused = keel("agent", "pause", "--reason", "investigating <b>", cwd=project)
    assert paused.code == 0 and "agent paused" in paused.out
    ticked = keel("agent", "tick", cwd=project)
    assert ticked.code == 0, ticked.err
    assert "paused by local-admin: nothing is done" in ticked.out
    shown = keel("agent", "status", cwd=project)
    assert "yes, by local-admin" in shown.out
    assert keel("agent", "resume", cwd=project).code == 0
    assert keel("agent", "status", "--json", cwd=project).json()["controls"]["paused"] is False
    plan = keel("agent", "plan", "--json", cwd=project)
    assert plan.json() == {"paused": False, "decisions": [], "next_steps": {}}
    assert keel("agent", "history", "--json", cwd=project).json() == []


def test_an_action_is_named_or_refused(keel: Keel, project: Path) -> None:
    assert keel("db", "upgrade", cwd=project).code == 0
    wrong = keel("agent", "explain", "yesterday", cwd=project)
    assert wrong.code == 2 and "act-NNNN" in wrong.err
    missing = keel("agent", "explain", "act-0009", cwd=project)
    assert missing.code == 3 and "act-0009" in missing.err
    nothing = keel("agent", "approve", "9", cwd=project)
    assert nothing.code == 3


def test_promote_auto_with_approvals_is_refused_naming_the_key(keel: Keel, project: Path) -> None:
    config = yaml.safe_load((project / "keel.yaml").read_text())
    config["automation"] = {"actions": {"promote": "auto", "retrain": "sometimes"}}
    (project / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    done = keel("agent", "status", cwd=project)
    assert done.code == 2
    assert "automation.actions.retrain" in done.err
    config["automation"] = {"actions": {"promote": "auto"}}
    (project / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    done = keel("agent", "status", cwd=project)
    assert done.code == 2 and "automation.actions.promote" in done.err
    assert "release.approvals is 1" in done.err
