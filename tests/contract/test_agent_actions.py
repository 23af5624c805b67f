"""The agent's actions beside retrain and rollback, on each backend: it pauses the champion
(the fallback chain answers until a person resumes), sends a seeded sample of the champion's
recent automatic decisions to review, and notifies the monitor's webhook (a real HTTP server
on loopback); each once, after a kill (SIGKILL) too, audited with its rule and evidence."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from tests.contract.agent_project import OPERATOR, agent_project, log_traffic, open_incident
from tests.contract.conftest import open_project
from tests.contract.test_agent_faults import crash_at, resume_until_done

from keel.app import agent
from keel.app._agent_steps import AGENT
from keel.app.review import list_items
from keel.automation.journal import ActionStatus, AgentAction
from keel.decisions.review import Reason
from keel.wiring import Keel

TRIGGERS = [
    {"when": "incident", "category": "slo", "min_severity": "high", "do": "pause_model"},
    {"when": "incident", "category": "quality", "do": "open_review_items", "review_sample": 40},
    {"when": "incident", "category": "performance", "do": "notify"},
]
ACTIONS = {"pause_model": "auto", "open_review_items": "auto", "notify": "auto"}


def project(folder: Path, database_url: str, **automation: Any) -> Keel:
    policy = {"triggers": TRIGGERS, "actions": ACTIONS, **automation}
    return agent_project(folder, database_url, **policy)


def journal(keel: Keel) -> list[AgentAction]:
    with keel.reader() as unit:
        return unit.agent.actions(keel.project.name)


def tick(keel: Keel) -> agent.PassResult:
    return agent.tick.body(keel, OPERATOR, holder="agent-pod-0")


def agent_items(keel: Keel) -> list[Any]:
    return list_items.body(keel, OPERATOR, reason=Reason.AGENT, limit=10_000)


@pytest.fixture
def keel(tmp_path: Path, database_url: str) -> Iterator[Keel]:
    opened = project(tmp_path / "proj", database_url)
    yield opened
    opened.close()


def test_a_trigger_pauses_the_champion_once_and_a_person_resumes(keel: Keel) -> None:
    open_incident(keel, "slo")
    first = tick(keel)
    assert any("pause_model: running" in line for line in first.events), first.events
    head, _ = keel.registry().status()
    assert head is not None and head.state.paused and head.actor == AGENT.name
    assert head.action == "pause" and head.state.champion == 1
    (action,) = journal(keel)
    assert action.kind == "pause_model" and action.status is ActionStatus.DONE
    assert action.key == "pause_model:incident:1"
    assert action.done("pause") is not None
    tick(keel)
    tick(keel)
    pauses = [r for r in keel.registry().history() if r.action == "pause"]
    assert len(pauses) == 1 and len(journal(keel)) == 1
    shown = agent.explain.body(keel, OPERATOR, action.seq)
    kinds = [e.action for e in shown.events]
    assert kinds[0] == "agent.decide" and "agent.finish" in kinds
    decided = shown.events[0].details["decision"]
    assert decided["rule"].startswith("automation.triggers[0]: incident slo")
    assert decided["evidence"]["category"] == "slo"
    planned = agent.plan.body(keel, OPERATOR)
    assert planned.decisions == ()  # answered: the plan no longer asks for it
    with keel.reader() as unit:
        audited = [e.action for e in unit.audit.recent(limit=50)]
    assert "release.pause" in audited
    resumed = keel.registry().pause(OPERATOR, paused=False)
    assert not resumed.state.paused and resumed.actor == "olga"
    tick(keel)  # the incident is the same: the agent does not pause again
    assert [r.action for r in keel.registry().history()][:2] == ["resume", "pause"]


def test_a_forbidden_action_is_recorded_as_skipped(tmp_path: Path, sqlite_url: str) -> None:
    keel = project(tmp_path / "proj", sqlite_url, actions={**ACTIONS, "pause_model": "forbidden"})
    try:
        open_incident(keel, "slo")
        tick(keel)
        (action,) = journal(keel)
        assert (action.kind, action.status, action.mode) == (
            "pause_model",
            ActionStatus.SKIPPED,
            "forbidden",
        )
        head, _ = keel.registry().status()
        assert head is not None and not head.state.paused
    finally:
        keel.close()


def test_review_items_for_a_seeded_sample_of_the_champion_s_decisions_once(keel: Keel) -> None:
    log_traffic(keel, 99, n=200)  # 600 champion answers, 200 of a (fictitious) canary v99
    open_incident(keel, "quality")
    tick(keel)
    (action,) = journal(keel)
    assert action.kind == "open_review_items" and action.status is ActionStatus.DONE, action
    done = action.done("review")
    assert done is not None
    items = agent_items(keel)
    assert len(items) == 40 == done.details["created"] == done.details["sampled"]
    assert done.details["population"] > 40
    assert {i.model for i in items} == {f"{keel.project.name}/v1"}
    assert {i.decision for i in items} == {"approve"}  # automatic: not the review action
    tick(keel)
    assert len(agent_items(keel)) == 40 and len(journal(keel)) == 1
    # the step again, as a restart would find it: the same sample, nothing opened twice
    from keel.app._agent_steps import AgentPass

    again = AgentPass(keel)._review(action)
    assert (again["sampled"], again["created"], again["seed"]) == (40, 0, done.details["seed"])
    assert len(agent_items(keel)) == 40
    with keel.reader() as unit:
        sampled = [e for e in unit.audit.recent(limit=50) if e.action == "review.sample"]
    assert sampled and sampled[-1].details["rule"].startswith("automation.triggers[1]")


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    status: ClassVar[int] = 200

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        type(self).received.append(json.loads(self.rfile.read(length)))
        body = b'{"do": "rollback", "actions": {"promote": "auto"}}'  # never acted on
        self.send_response(type(self).status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def hook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/keel", handler
    server.shutdown()
    server.server_close()


def with_webhook(keel: Keel, url: str, *, allow: bool = True) -> Keel:
    folder = keel.settings.project_dir
    database_url = keel.settings.database_url
    keel.close()
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    notify = {"webhook": url, "retries": 0, "timeout_seconds": 2}
    if allow:
        notify["allow_networks"] = ["127.0.0.1/32"]
    config.setdefault("monitoring", {})["notify"] = notify
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return open_project(folder, database_url)


def test_notify_sends_the_rule_evidence_and_champion_to_the_webhook(
    keel: Keel, hook: tuple[str, type[_Hook]]
) -> None:
    url, handler = hook
    keel = with_webhook(keel, url)
    try:
        open_incident(keel, "performance")
        before, _ = keel.registry().status()
        tick(keel)
        tick(keel)
        (action,) = journal(keel)
        assert action.kind == "notify" and action.status is ActionStatus.DONE, action.outcome
        (sent,) = handler.received
        assert sent["project"] == keel.project.name and sent["event"] == "agent.notify"
        assert sent["rule"].startswith("automation.triggers[2]: incident performance")
        assert sent["evidence"]["category"] == "performance" and sent["key"] == action.key
        assert sent["champion"] == f"{keel.project.name}/v1"
        after, _ = keel.registry().status()
        assert after == before  # the webhook's answer asked for a rollback: nothing was done
        with keel.reader() as unit:
            events = unit.audit.recent(limit=50, subject=f"agent:{keel.project.name}#act-0001")
        delivered = [e for e in events if e.action == "monitor.notify"]
        assert len(delivered) == 1 and delivered[0].details["to"].startswith("http://127.0.0.1")
    finally:
        keel.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("how", ["refused", "unreachable", "not allowed"])
def test_a_webhook_that_fails_is_the_action_s_failure_not_a_crash(
    tmp_path: Path, sqlite_url: str, hook: tuple[str, type[_Hook]], how: str
) -> None:
    url, handler = hook
    handler.status = 403
    if how == "unreachable":
        url = f"http://127.0.0.1:{_closed_port()}/hooks/keel"
    keel = with_webhook(project(tmp_path / "proj", sqlite_url), url, allow=how != "not allowed")
    try:
        open_incident(keel, "performance")
        result = tick(keel)
        (action,) = journal(keel)
        assert action.status is ActionStatus.FAILED, result.events
        assert "not delivered" in action.outcome["result"]
        expected = {"refused": "HTTP 403", "unreachable": "Error", "not allowed": "loopback"}
        assert expected[how] in action.outcome["notice"]["error"]
        assert len(handler.received) == (1 if how == "refused" else 0)
        with keel.reader() as unit:
            audited = [e.action for e in unit.audit.recent(limit=50)]
        assert "monitor.notify_failed" in audited
    finally:
        keel.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("category", "step"),
    [("slo", "pause"), ("quality", "review"), ("performance", "notify")],
)
def test_killed_after_the_step_the_restarted_agent_does_it_once(
    tmp_path: Path, sqlite_url: str, hook: tuple[str, type[_Hook]], category: str, step: str
) -> None:
    url, handler = hook
    folder = tmp_path / "proj"
    keel = with_webhook(project(folder, sqlite_url), url)
    log_traffic(keel, 99, n=100)
    open_incident(keel, category)
    crash_at(folder, sqlite_url, step)
    last = journal(keel)[0].last
    assert last is not None and (last.name, last.state) == (step, "started")
    action = resume_until_done(keel)
    assert action.status is ActionStatus.DONE, action.outcome
    assert [s.name for s in action.steps if s.state == "done"] == [step]
    pauses = [r for r in keel.registry().history() if r.action == "pause"]
    assert len(pauses) == (1 if step == "pause" else 0)
    assert len(agent_items(keel)) == (40 if step == "review" else 0)
    assert len(handler.received) == (1 if step == "notify" else 0)
    keel.close()
