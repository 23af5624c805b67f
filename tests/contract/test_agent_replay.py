"""Sixty days of the agent on the simulator, on a simulated clock: drift on two days, the
second retrain a deliberately worse candidate. Exactly two retrains, the retrain budget never
exceeded on any day, the worse candidate rolled back on its own, one champion at every moment."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from tests.contract.agent_project import OPERATOR, agent_project, open_incident

from keel.app import monitoring
from keel.app._agent_steps import AgentPass
from keel.automation.journal import ActionStatus, AgentAction
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.predictions import PredictionRecord
from keel.wiring import Keel

APPROVER = Actor("alice", Role.APPROVER, "api-key")
START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 60
DRIFT_DAYS = (12, 40)
PASSES_PER_DAY = 2  # the agent as a CronJob every twelve hours
CANARY_REQUESTS = 300  # per pass while a canary serves, beside three times as many champions
BAD_FALLBACK = 0.2  # the worse candidate: the champion answers a fifth of its requests


def log_day(keel: Keel, canary: int, at: datetime, fallback_rate: float) -> None:
    """Eleven hours of traffic as the service logs it while ``canary`` serves beside the
    champion; the canary's failures answered by the champion, on the canary's route."""
    rng = np.random.default_rng(int(at.timestamp()))
    head, _ = keel.registry().status()
    assert head is not None and head.state.champion is not None
    champion = f"{keel.project.name}/v{head.state.champion}"
    candidate = f"{keel.project.name}/v{canary}"
    records = []
    for i in range(4 * CANARY_REQUESTS):
        route = "canary" if i % 4 == 0 else "champion"
        failed = route == "canary" and rng.random() < fallback_rate
        score = float(rng.beta(2, 5))
        records.append(
            PredictionRecord(
                request_id=secrets.token_hex(8),
                prediction_id=secrets.token_hex(8),
                time=at + timedelta(minutes=float(rng.uniform(0, 600))),
                model=candidate if route == "canary" and not failed else champion,
                entity_id=secrets.token_hex(4),
                inputs={},
                score=score,
                decision="approve" if score < 0.2 else "review",
                fallback=f"{candidate} failed → champion" if failed else None,
                latency_ms=float(2.0 + rng.exponential(0.3)),
                route=route,
            )
        )
    log = keel.prediction_log()
    try:
        log.append(records)
    finally:
        log.close()


def journal(keel: Keel) -> list[AgentAction]:
    with keel.reader() as unit:
        return unit.agent.actions(keel.project.name, limit=100)


@pytest.mark.slow
def test_sixty_days_two_drifts_two_retrains_the_worse_candidate_rolled_back(
    tmp_path: Path, sqlite_url: str
) -> None:
    keel = agent_project(
        tmp_path / "proj",
        sqlite_url,
        budgets={"retrains_per_day": 1, "canaries_per_week": 2},
        cooldown_minutes=24 * 60,
        canary={
            "steps": [10, 50],
            "min_requests": 200,
            "metrics": [
                {"name": "error_rate", "margin": 0.02},
                {"name": "fallback_rate", "margin": 0.02},
            ],
        },
    )
    clock = {"now": START}
    agent = AgentPass(keel, holder="cron", clock=lambda: clock["now"])
    incidents: list[int] = []
    champions: list[int | None] = []
    spent: list[int] = []
    for day in range(DAYS):
        if day in DRIFT_DAYS:
            for seq in incidents:  # the drift answered, its incident was resolved
                monitoring.resolve_incident.body(keel, OPERATOR, seq, note="answered")
            incidents = [open_incident(keel)]
        for run in range(PASSES_PER_DAY):
            clock["now"] = START + timedelta(days=day, hours=12 * run)
            running = [a for a in journal(keel) if a.status is ActionStatus.RUNNING]
            if running and running[0].done("canary:10") is not None:
                version = int(running[0].done("register").details["version"])  # type: ignore[union-attr]
                bad = running[0].seq == 2
                log_day(keel, version, clock["now"], BAD_FALLBACK if bad else 0.0)
                clock["now"] += timedelta(hours=11)
            agent.run()
            _, pending = keel.registry().status()
            for request in pending:  # a person approves the agent's promotion request
                keel.registry().approve(request.version, APPROVER, note="canary passed")
            head, _ = keel.registry().status()
            champions.append(head.state.champion if head else None)
        with keel.reader() as unit:
            spent.append(
                unit.agent.spent(keel.project.name, "retrain", clock["now"] - timedelta(hours=24))
            )

    actions = journal(keel)
    retrains = [a for a in actions if a.kind == "retrain" and a.done("train") is not None]
    assert len(retrains) == 2, [(a.id, a.status, a.key) for a in actions]
    first, second = sorted(retrains, key=lambda a: a.seq)
    assert first.status is ActionStatus.DONE and second.status is ActionStatus.FAILED
    assert "canary failed" in second.outcome["result"] and second.outcome["incident"]
    assert second.done("rolled_back") is not None
    assert max(spent) <= 1  # the budget: at most one retrain in any day's 24 hours
    promoted = int(first.done("register").details["version"])  # type: ignore[union-attr]
    worse = int(second.done("register").details["version"])  # type: ignore[union-attr]
    assert champions[0] == 1 and champions[-1] == promoted and worse not in champions
    history = keel.registry().history()
    assert all(r.state.canary in (None, promoted, worse) for r in history)
    head, _ = keel.registry().status()
    assert head is not None and head.state.canary is None and worse not in head.state.shadow
    assert [r.action for r in history if r.actor == "keel-agent"][:2] == [
        "shadow.stop",
        "canary.stop",
    ]
    keel.close()
