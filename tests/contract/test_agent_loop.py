"""The agent end to end on each backend: an incident, a retrain, the gate, shadow, canary
steps judged on logged traffic, a promotion a person approves; a bad canary rolled back on its
own; pause; the agent never approving; every decision explained."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.contract.agent_project import OPERATOR, agent_project, log_traffic, open_incident

from keel.app import agent
from keel.app._agent_steps import AGENT, AgentPass
from keel.automation.journal import ActionStatus
from keel.errors import PermissionDenied
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.monitoring.incidents import IncidentStatus
from keel.wiring import Keel

ALICE = Actor("alice", Role.APPROVER, "api-key")


@pytest.fixture
def keel(tmp_path: Path, database_url: str) -> Iterator[Keel]:
    """On each backend: the loop and the bad canary (the guards' own suite is on both)."""
    opened = agent_project(tmp_path / "proj", database_url)
    yield opened
    opened.close()


@pytest.fixture
def local(tmp_path: Path, sqlite_url: str) -> Iterator[Keel]:
    """On SQLite only, to keep the suite's time: the paths that differ in no SQL."""
    opened = agent_project(tmp_path / "proj", sqlite_url)
    yield opened
    opened.close()


def tick(keel: Keel) -> agent.PassResult:
    return agent.tick(keel)


def steps_done(keel: Keel, seq: int = 1) -> list[str]:
    with keel.reader() as unit:
        action = unit.agent.get(keel.project.name, seq)
    return [s.name for s in action.steps if s.state == "done"]


def test_the_full_loop_ends_in_a_promotion_a_person_approves(keel: Keel) -> None:
    incident = open_incident(keel)
    first = tick(keel)
    assert first.leader and not first.paused
    # train, register, gate, shadow, first canary step; then the canary holds on no data
    assert steps_done(keel) == ["train", "register", "gate", "shadow", "canary:10"]
    assert any("hold" in line for line in first.events)
    with keel.reader() as unit:
        action = unit.agent.get(keel.project.name, 1)
    assert action.key == f"retrain:incident:{incident}" and action.actor == "keel-agent"
    version = int(action.done("register").details["version"])  # type: ignore[union-attr]
    assert action.done("gate").details["passed"]  # type: ignore[union-attr]

    log_traffic(keel, version)
    second = tick(keel)  # passes 10 %, moves to 50 %, holds on no data since
    assert any("pass" in line for line in second.events), second.events
    assert "passed:canary:10" in steps_done(keel) and "canary:50" in steps_done(keel)
    log_traffic(keel, version)
    tick(keel)  # passes 50 %, asks for the promotion, ends
    status = agent.status(keel)
    assert not status.open and "1 of 3" in status.spent["retrain"]
    with keel.reader() as unit:
        done = unit.agent.get(keel.project.name, 1)
        pending = unit.promotions.all_pending(keel.project.name)
    assert done.status is ActionStatus.DONE
    assert [p.version for p in pending] == [version] and pending[0].requester == "keel-agent"

    # the agent cannot approve (its role, and its own request); a person can
    with pytest.raises(PermissionDenied):
        keel.registry().approve(version, AGENT)
    promotion = keel.registry().approve(version, ALICE)
    assert promotion.release is not None and promotion.release.state.champion == version

    # the same incident never starts a second retrain
    assert tick(keel).events == ()
    explained = agent.explain(keel, 1)
    kinds = [e.action for e in explained.events]
    assert kinds[0] == "agent.decide" and "agent.canary" in kinds and kinds[-1] == "agent.finish"
    verdicts = [e.details for e in explained.events if e.action == "agent.canary"]
    assert verdicts[-1]["verdict"] == "pass"
    assert {"n_canary", "interval", "fail_above", "verdict"} <= set(verdicts[-1]["metrics"][0])


def test_a_bad_canary_is_rolled_back_on_its_own_with_an_incident(keel: Keel) -> None:
    open_incident(keel)
    tick(keel)
    version = int(steps_done_detail(keel, "register")["version"])
    log_traffic(keel, version, error_rate=0.3)
    tick(keel)
    with keel.reader() as unit:
        action = unit.agent.get(keel.project.name, 1)
        incidents = unit.incidents.all(keel.project.name, status=IncidentStatus.OPEN)
    assert action.status is ActionStatus.FAILED
    assert "canary failed" in action.outcome["result"]
    head, _ = keel.registry().status()
    assert head is not None and head.state.canary is None and version not in head.state.shadow
    assert head.state.champion == 1 and head.actor == "keel-agent"
    assert any(i.category == "canary" for i in incidents)
    history = [r.action for r in keel.registry().history()]
    assert history[:4] == ["shadow.stop", "canary.stop", "canary", "shadow"]


def steps_done_detail(keel: Keel, name: str) -> dict[str, object]:
    with keel.reader() as unit:
        step = unit.agent.get(keel.project.name, 1).done(name)
    assert step is not None
    return step.details


def test_pause_during_a_canary_stops_it_before_the_next_step(local: Keel) -> None:
    open_incident(local)
    tick(local)
    version = int(steps_done_detail(local, "register")["version"])
    agent.pause(local, reason="investigating")
    log_traffic(local, version)
    paused = tick(local)
    assert paused.paused and "canary:50" not in steps_done(local)
    assert agent.plan(local).paused
    head, _ = local.registry().status()
    assert head is not None and head.state.canary_share == 10
    agent.resume(local)
    tick(local)
    assert "canary:50" in steps_done(local)


def test_a_long_hold_past_the_deadline_rolls_back(local: Keel) -> None:
    from datetime import UTC, datetime, timedelta

    open_incident(local)
    tick(local)
    later = datetime.now(UTC) + timedelta(days=2)
    report = AgentPass(local, clock=lambda: later).run()
    assert any("deadline" in line for line in report.events)
    with local.reader() as unit:
        assert unit.agent.get(local.project.name, 1).status is ActionStatus.FAILED


def test_a_rollback_trigger_undoes_the_last_change_as_a_person_would(local: Keel) -> None:
    from dataclasses import replace

    from keel.registry.policy import ReleasePolicy
    from keel.training.service import TrainRequest

    run = local.trainer().train(TrainRequest(actor="tester", params={"n_estimators": 10}))
    registry = replace(local.registry(), policy=ReleasePolicy())
    model, _ = registry.register(run.id, OPERATOR)
    registry.gate(model.version, OPERATOR)
    registry.canary(model.version, 20, OPERATOR)  # a person's change, then an SLO incident
    open_incident(local, "slo")
    result = tick(local)
    assert any("rollback" in line for line in result.events), result.events
    head, _ = local.registry().status()
    assert head is not None and head.action == "rollback" and head.actor == "keel-agent"
    assert head.state.canary is None and head.state.champion == 1
    with local.reader() as unit:
        action = unit.agent.get(local.project.name, 1)
    assert action.kind == "rollback" and action.status is ActionStatus.DONE
    assert action.rule.startswith("automation.triggers[1]")


def test_the_gate_re_scores_the_candidate_not_its_reported_number(
    tmp_path: Path, sqlite_url: str
) -> None:
    """A candidate whose recorded benchmark result was inflated after registration (a reported
    number) is refused: the agent re-scores the stored artifact on the frozen rows."""
    import json

    import sqlalchemy as sa

    from keel.store.sql.tables import model_versions

    keel = agent_project(tmp_path / "proj", sqlite_url, gates=[{"metric": "roc_auc", "min": 0.55}])
    open_incident(keel)

    def inflate(event: str, name: str) -> None:
        if (event, name) != ("done", "register"):
            return
        with keel.db.write() as conn:
            row = conn.execute(sa.select(model_versions).where(model_versions.c.version == 2))
            benchmarks = json.loads(row.mappings().one()["benchmarks"])
            for metrics in benchmarks.values():
                metrics["roc_auc"]["value"] = 0.999
            conn.execute(
                model_versions.update()
                .where(model_versions.c.version == 2)
                .values(benchmarks=json.dumps(benchmarks))
            )

    agent.tick(keel, on_step=inflate)
    with keel.reader() as unit:
        action = unit.agent.get(keel.project.name, 1)
    gate = action.done("gate")
    assert gate is not None and gate.details["gate_passed"] and not gate.details["passed"]
    assert action.status is ActionStatus.FAILED
    assert "does not bear out its record" in action.outcome["result"]
    assert gate.details["rescored"][0]["recorded"] == 0.999
    head, _ = keel.registry().status()
    assert head is not None and head.state.shadow == ()
    keel.close()


def test_a_proposal_waits_for_a_person_and_the_agent_cannot_approve_it(
    tmp_path: Path, sqlite_url: str
) -> None:
    keel = agent_project(
        tmp_path / "proj",
        sqlite_url,
        actions={"retrain": "needs_approval", "shadow": "auto", "canary": "forbidden"},
    )
    open_incident(keel)
    proposed = tick(keel)
    assert proposed.actions[0].status is ActionStatus.PROPOSED
    with keel.reader() as unit:
        assert unit.runs.list(keel.project.name) and len(unit.runs.list(keel.project.name)) == 1
    assert tick(keel).events == ()  # nothing happens until a person approves
    with pytest.raises(PermissionDenied, match="cannot approve its own"):
        agent.approve.body(keel, AGENT, 1)
    agent.approve.body(keel, ALICE, 1, note="go")
    started = tick(keel)
    assert any("shadow done" in line for line in started.events), started.events
    with keel.reader() as unit:
        action = unit.agent.get(keel.project.name, 1)
    assert [s.name for s in action.steps][:2] == ["approved:retrain", "train"]
    keel.close()


def test_a_step_longer_than_the_lease_renews_it_before_the_next(local: Keel) -> None:
    """Each call of the clock is two minutes later: the training step alone outlives the
    60 s lease, and the agent renews it before starting the next step, as no one took it."""
    start = datetime.now(UTC)
    calls = iter(range(10_000))

    def slow_clock() -> datetime:
        return start + timedelta(minutes=2 * next(calls))

    open_incident(local)
    report = AgentPass(local, clock=slow_clock).run()
    assert not any("lease" in line for line in report.events), report.events
    assert steps_done(local)[:4] == ["train", "register", "gate", "shadow"]


def test_canary_requests_the_champion_answered_count_as_the_canary_s_fallbacks(
    tmp_path: Path, sqlite_url: str
) -> None:
    """A canary that fails is answered by the champion, and the log names the champion: the
    analysis still counts those requests against the canary, and rolls it back."""
    canary = {
        "steps": [10, 50],
        "min_requests": 200,
        "metrics": [{"name": "fallback_rate", "margin": 0.02}],
    }
    keel = agent_project(tmp_path / "proj", sqlite_url, canary=canary)
    open_incident(keel)
    tick(keel)
    version = int(steps_done_detail(keel, "register")["version"])
    log_traffic(keel, version, fallback_rate=0.2)
    result = tick(keel)
    with keel.reader() as unit:
        action = unit.agent.get(keel.project.name, 1)
    assert action.status is ActionStatus.FAILED, result.events
    assert "fallback_rate" in action.outcome["result"]
    keel.close()
