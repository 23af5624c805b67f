"""The canary's ROC AUC metrics end to end: the agent reads each arm's logged scores through
its own model's calibration (estimated) and the outcomes joined on prediction id (realized),
and rolls back a canary that ranks worse than the champion; before the outcomes arrive the
realized metric holds."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from tests.contract.agent_project import agent_project, open_incident

from keel.app import agent
from keel.automation.journal import ActionStatus
from keel.predictions import PredictionRecord
from keel.predictions.records import OutcomeRecord
from keel.wiring import Keel


def _log(keel: Keel, canary: int, *, collapsed: bool, n: int = 1000) -> list[tuple[str, float]]:
    """``n`` canary requests beside ``3 n`` champion ones; the champion's scores spread and
    its outcomes follow them, the canary's outcomes ignore its scores (and with ``collapsed``
    its scores barely move). Returns each request's prediction id and outcome."""
    rng = np.random.default_rng(canary)
    head, _ = keel.registry().status()
    assert head is not None and head.state.champion is not None
    now = datetime.now(UTC)
    records, outcomes = [], []
    for route, version, count in (("champion", head.state.champion, 3 * n), ("canary", canary, n)):
        for _ in range(count):
            score = float(rng.beta(2, 5))
            label = float(rng.random() < score)
            if route == "canary":
                label = float(rng.random() < 0.3)
                score = 0.3 + 0.001 * float(rng.standard_normal()) if collapsed else score
            prediction = secrets.token_hex(8)
            records.append(
                PredictionRecord(
                    request_id=secrets.token_hex(8),
                    prediction_id=prediction,
                    time=now,
                    model=f"{keel.project.name}/v{version}",
                    entity_id=secrets.token_hex(4),
                    inputs={},
                    score=score,
                    decision="approve" if score < 0.2 else "review",
                    fallback=None,
                    latency_ms=2.0,
                    route=route,
                )
            )
            outcomes.append((prediction, label))
    log = keel.prediction_log()
    try:
        log.append(records)
    finally:
        log.close()
    return outcomes


def _action(keel: Keel) -> tuple[ActionStatus, str, int]:
    with keel.reader() as unit:
        action = unit.agent.get(keel.project.name, 1)
    registered = action.done("register")
    assert registered is not None
    return action.status, str(action.outcome.get("result", "")), int(registered.details["version"])


@pytest.mark.parametrize("collapsed", [True, False], ids=["collapsed", "as-the-champion"])
def test_a_canary_whose_scores_collapse_fails_on_its_estimated_auc(
    tmp_path: Path, sqlite_url: str, collapsed: bool
) -> None:
    """Scores that barely move rank nothing: rolled back before any outcome arrives; scores
    spread as the champion's are not."""
    canary = {
        "steps": [10, 50],
        "min_requests": 200,
        "metrics": [{"name": "estimated_roc_auc", "margin": 0.02}],
    }
    keel = agent_project(tmp_path / "proj", sqlite_url, canary=canary)
    open_incident(keel)
    agent.tick(keel)
    _, _, version = _action(keel)
    _log(keel, version, collapsed=collapsed)  # no outcome: CBPE needs none
    result = agent.tick(keel)
    status, reason, _ = _action(keel)
    if collapsed:
        assert status is ActionStatus.FAILED, result.events
        assert "estimated_roc_auc" in reason
    else:
        assert status is not ActionStatus.FAILED, result.events
        assert any("estimated_roc_auc" in line or "pass" in line for line in result.events)
    keel.close()


def test_the_realized_auc_holds_until_outcomes_arrive_then_rolls_back(
    tmp_path: Path, sqlite_url: str
) -> None:
    canary = {
        "steps": [10, 50],
        "min_requests": 200,
        "metrics": [{"name": "realized_roc_auc", "margin": 0.02}],
    }
    keel = agent_project(tmp_path / "proj", sqlite_url, canary=canary)
    open_incident(keel)
    agent.tick(keel)
    _, _, version = _action(keel)
    outcomes = _log(keel, version, collapsed=False)
    held = agent.tick(keel)
    status, _, _ = _action(keel)
    assert status is ActionStatus.RUNNING
    assert any("hold" in line and "realized_roc_auc" in line for line in held.events), held
    now = datetime.now(UTC)
    log = keel.outcome_log()
    try:
        log.append(
            [OutcomeRecord(now, prediction_id=p, label=y, source="test") for p, y in outcomes]
        )
    finally:
        log.close()
    result = agent.tick(keel)
    status, reason, _ = _action(keel)
    assert status is ActionStatus.FAILED, result.events
    assert "realized_roc_auc" in reason
    keel.close()
