"""A loan project with a champion and an automation policy, and the traffic a canary sees:
shared by the agent's tests (the loop, the faults) on each backend."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tests.contract.conftest import ingest_simulated, open_project

from keel.app.scaffold import scaffold
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.monitoring.incidents import Breach, opened
from keel.predictions import PredictionRecord
from keel.registry.policy import ReleasePolicy
from keel.store.sql.schema import upgrade
from keel.training.service import TrainRequest
from keel.wiring import Keel

OPERATOR = Actor("olga", Role.OPERATOR, "api-key")
SMALL = {"n_estimators": 30, "num_leaves": 15}
POLICY: dict[str, Any] = {
    "triggers": [
        {"when": "incident", "category": "drift", "do": "retrain"},
        {"when": "incident", "category": "slo", "min_severity": "high", "do": "rollback"},
    ],
    "actions": {"retrain": "auto", "shadow": "auto", "canary": "auto", "rollback": "auto"},
    "budgets": {"retrains_per_day": 3},
    "cooldown_minutes": 0,
    "canary": {
        "steps": [10, 50],
        "min_requests": 200,
        "metrics": [
            {"name": "error_rate", "margin": 0.02},
            {"name": "latency_p99", "margin": 2.0},
        ],
    },
}


def agent_project(folder: Path, database_url: str, **automation: Any) -> Keel:
    """The loan project (3,000 labelled rows, a small recipe) with v1 champion and the agent's
    policy ``POLICY`` updated with ``automation``; release approvals 1 unless overridden."""
    scaffold(folder, "loan")
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["model"]["params"] = {**config["model"].get("params", {}), **SMALL}
    config["release"] = {
        "approvals": automation.pop("approvals", 1),
        "gates": automation.pop("gates", []),
    }
    config["automation"] = {**POLICY, **automation}
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    keel = open_project(folder, database_url)
    upgrade(keel.db)
    ingest_simulated(keel, 3000, datetime(2024, 1, 1), datetime(2024, 4, 1))
    run = keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    registry = replace(keel.registry(), policy=ReleasePolicy())
    model, _ = registry.register(run.id, OPERATOR)
    registry.gate(model.version, OPERATOR)
    registry.promote(model.version, OPERATOR)
    return keel


def open_incident(keel: Keel, category: str = "drift") -> int:
    """An incident as the monitor opens one (one breach of ``category``)."""
    breach = Breach(category, f"{category} check", 0.3, 0.1, "chunk-1", f"{category} breach")
    with keel.unit() as unit:
        seq = unit.incidents.next_seq(keel.project.name)
        unit.incidents.add(opened(keel.project.name, seq, [breach], datetime.now(UTC)))
    return seq


def log_traffic(
    keel: Keel, canary: int, *, n: int = 1000, error_rate: float = 0.0, fallback_rate: float = 0.0
) -> None:
    """What the service logs while ``canary`` serves ``n`` requests beside the champion's
    ``3 n``: same latency and scores, the canary failing ``error_rate`` of its requests, and
    ``fallback_rate`` of them answered by the champion instead (logged, as the service logs
    them, with the champion's label, on the canary's route)."""
    rng = np.random.default_rng(n + canary)
    head, _ = keel.registry().status()
    assert head is not None and head.state.champion is not None
    now = datetime.now(UTC)
    champion = f"{keel.project.name}/v{head.state.champion}"
    records = [_record(champion, "champion", now, rng, 0.0) for _ in range(3 * n)]
    for _ in range(n):
        record = _record(f"{keel.project.name}/v{canary}", "canary", now, rng, error_rate)
        if rng.random() < fallback_rate:
            record = replace(record, model=champion, fallback=f"v{canary} failed → champion")
        records.append(record)
    log = keel.prediction_log()
    try:
        log.append(records)
    finally:
        log.close()


def _record(
    model: str, route: str, now: datetime, rng: np.random.Generator, error_rate: float
) -> PredictionRecord:
    failed = rng.random() < error_rate
    score = None if failed else float(rng.beta(2, 5))
    return PredictionRecord(
        request_id=secrets.token_hex(8),
        prediction_id=secrets.token_hex(8),
        time=now,
        model=model,
        entity_id=secrets.token_hex(4),
        inputs={},
        score=score,
        decision=None if failed else ("approve" if score and score < 0.2 else "review"),
        fallback="model error" if failed else None,
        latency_ms=float(2.0 + rng.exponential(0.3)),
        route=route,
    )
