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


def test_a_pause_trigger_is_planned_proposed_and_explained(keel: Keel, project: Path) -> None:
    from datetime import UTC, datetime

    from keel.app.session import open_project
    from keel.monitoring.incidents import Breach, opened

    config = yaml.safe_load((project / "keel.yaml").read_text())
    config["automation"] = {
        "triggers": [{"when": "incident", "category": "slo", "do": "pause_model"}],
        "actions": {"notify": "auto"},
    }
    (project / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    assert keel("db", "upgrade", cwd=project).code == 0
    opened_project = open_project(project)
    try:
        with opened_project.unit() as unit:
            breach = Breach("slo", "slo p99", 900.0, 250.0, "chunk-1", "p99 over its limit")
            unit.incidents.add(opened("loan-default", 1, [breach], datetime.now(UTC)))
    finally:
        opened_project.close()
    plan = keel("agent", "plan", cwd=project)
    assert plan.code == 0, plan.err
    assert "pause_model (needs_approval)" in plan.out and "pause_model:incident:1" in plan.out
    assert keel("agent", "tick", cwd=project).code == 0
    history = keel("agent", "history", "--json", cwd=project).json()
    assert [(a["kind"], a["status"]) for a in history] == [("pause_model", "proposed")]
    explained = keel("agent", "explain", "act-0001", cwd=project)
    assert explained.code == 0, explained.err
    assert "act-0001 pause_model (needs_approval)" in explained.out
    assert "incident slo" in explained.out and "agent.decide" in explained.out
    assert "waits for approval" in keel("agent", "plan", cwd=project).out


def test_an_unknown_new_action_names_its_key(keel: Keel, project: Path) -> None:
    config = yaml.safe_load((project / "keel.yaml").read_text())
    config["automation"] = {"triggers": [{"when": "incident", "category": "slo", "do": "pause"}]}
    (project / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    done = keel("agent", "plan", cwd=project)
    assert done.code == 2 and "automation.triggers.0.do" in done.err
    assert "Traceback" not in done.err
