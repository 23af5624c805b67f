"""The agent's guards in the metadata database, on SQLite and PostgreSQL: the lease, the pause
flag, single flight, the idempotency key, the cooldown and the budget, each atomic."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from keel.automation.journal import ActionStatus, AgentAction, Guard, Step
from keel.errors import Conflict, PolicyViolation
from keel.store.sql import Database, SqlUnit

P = "loan"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
RETRAIN = Guard(holder="agent-a", budget=("retrain", 2, 24), cooldown=True)


def action(key: str, status: ActionStatus = ActionStatus.RUNNING) -> AgentAction:
    return AgentAction(P, 0, key, "retrain", "rule", "auto", status, "agent-a", T0, T0)


def write(db: Database):  # type: ignore[no-untyped-def]
    class _Unit:
        def __enter__(self) -> SqlUnit:
            self.cm = db.write()
            return SqlUnit(self.cm.__enter__())

        def __exit__(self, *exc: object) -> None:
            self.cm.__exit__(*exc)  # type: ignore[arg-type]

    return _Unit()


def test_one_lease_holder_until_the_lease_lapses(db: Database) -> None:
    with write(db) as unit:
        first = unit.agent.acquire(P, "agent-a", T0, 60)
    with write(db) as unit:
        assert unit.agent.acquire(P, "agent-b", T0 + timedelta(seconds=30), 60) is None
        renewed = unit.agent.acquire(P, "agent-a", T0 + timedelta(seconds=30), 60)
    with write(db) as unit:
        taken = unit.agent.acquire(P, "agent-b", T0 + timedelta(seconds=91), 60)
    assert first is not None and renewed is not None and taken is not None
    assert renewed.term == first.term and taken.term == first.term + 1
    with pytest.raises(Conflict, match="does not hold the agent lease"), write(db) as unit:
        unit.agent.start(action("k1"), RETRAIN, T0 + timedelta(seconds=92))


def test_two_agents_racing_for_the_lease_one_wins(db: Database) -> None:
    won: list[str] = []
    barrier = threading.Barrier(2)

    def race(name: str) -> None:
        barrier.wait()
        try:
            with write(db) as unit:
                if unit.agent.acquire(P, name, T0, 60) is not None:
                    won.append(name)
        except Conflict:
            pass  # lost the insert of the first row: the other one leads

    threads = [threading.Thread(target=race, args=(n,)) for n in ("agent-a", "agent-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_single_flight_idempotency_cooldown_and_budget(db: Database) -> None:
    now = T0
    with write(db) as unit:
        unit.agent.acquire(P, "agent-a", now, 10**6)
        first = unit.agent.start(action("incident:1"), RETRAIN, now)
    with pytest.raises(Conflict, match="in flight"), write(db) as unit:
        unit.agent.start(action("incident:2"), RETRAIN, now)
    with write(db) as unit:
        cooled = now + timedelta(minutes=30)
        unit.agent.finish(
            P, first.seq, ActionStatus.DONE, outcome={}, now=now, cooldown_until=cooled
        )
    with pytest.raises(Conflict, match="already answered"), write(db) as unit:
        unit.agent.start(action("incident:1"), RETRAIN, now + timedelta(hours=1))
    with pytest.raises(Conflict, match="cools down"), write(db) as unit:
        unit.agent.start(action("incident:2"), RETRAIN, now + timedelta(minutes=10))
    later = now + timedelta(minutes=31)
    with write(db) as unit:
        second = unit.agent.start(action("incident:2"), RETRAIN, later)
    # a crash: the second never finishes, its budget stays reserved; the slot is freed by hand
    with write(db) as unit:
        unit.agent.finish(P, second.seq, ActionStatus.FAILED, outcome={}, now=later)
        assert unit.agent.spent(P, "retrain", later - timedelta(hours=24)) == 2
    with pytest.raises(PolicyViolation, match="budget is spent: 2 of 2"), write(db) as unit:
        unit.agent.start(action("incident:3"), RETRAIN, later)
    with write(db) as unit:  # the refused start left nothing behind
        assert [a.key for a in unit.agent.actions(P)] == ["incident:2", "incident:1"]
        assert unit.agent.start(action("incident:3"), RETRAIN, now + timedelta(hours=25))


def test_a_crashed_action_keeps_its_budget_reserved(db: Database) -> None:
    with write(db) as unit:
        unit.agent.acquire(P, "agent-a", T0, 3600)
        unit.agent.start(action("incident:1"), RETRAIN, T0)
    with write(db) as unit:  # never finished: the process died
        assert unit.agent.spent(P, "retrain", T0 - timedelta(hours=1)) == 1
        assert unit.agent.actions(P, open_only=True)[0].status is ActionStatus.RUNNING


def test_pause_stops_new_actions_and_the_next_step(db: Database) -> None:
    with write(db) as unit:
        unit.agent.acquire(P, "agent-a", T0, 3600)
        running = unit.agent.start(action("incident:1"), RETRAIN, T0)
        unit.agent.set_paused(P, True, "ana", "investigating", T0)
    with pytest.raises(PolicyViolation, match="paused"), write(db) as unit:
        unit.agent.step(P, running.seq, Step("canary:25", "started", T0), "agent-a")
    with pytest.raises(PolicyViolation, match="paused"), write(db) as unit:
        unit.agent.start(action("incident:2", ActionStatus.RUNNING), RETRAIN, T0)
    with write(db) as unit:  # finishing what already happened is still recorded
        done = unit.agent.step(P, running.seq, Step("canary:5", "done", T0), "agent-a")
        assert done.done("canary:5") is not None
        controls = unit.agent.set_paused(P, False, "ana", None, T0)
    assert not controls.paused and controls.lease and controls.lease.holder == "agent-a"


def test_a_proposal_takes_the_guards_when_it_starts(db: Database) -> None:
    with write(db) as unit:
        unit.agent.acquire(P, "agent-a", T0, 3600)
        proposed = unit.agent.start(action("incident:1", ActionStatus.PROPOSED), RETRAIN, T0)
        again = unit.agent.start(action("incident:1", ActionStatus.PROPOSED), RETRAIN, T0)
    assert proposed.seq == again.seq and proposed.status is ActionStatus.PROPOSED
    with write(db) as unit:
        unit.agent.step(P, proposed.seq, Step("approved", "done", T0, {"by": "omar"}), None)
        started = unit.agent.start(action("incident:1"), RETRAIN, T0)
    assert started.seq == proposed.seq and started.status is ActionStatus.RUNNING
    assert [s.name for s in started.steps] == ["approved"]
