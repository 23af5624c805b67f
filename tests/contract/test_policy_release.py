"""A decision policy change takes a model's path: register, gate, four-eyes release, rollback,
each audited, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import yaml
from tests.contract.conftest import ingest_simulated, loan_project

from keel.app.decisions import tune_thresholds
from keel.app.policies import (
    approve_policy,
    gate_policy,
    list_policies,
    register_policy,
    reject_policy,
    release_policy,
    rollback_policy,
    show_policy,
)
from keel.errors import ConfigError, Conflict, PermissionDenied, PolicyViolation
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.registry.policy import ReleasePolicy
from keel.training.service import TrainRequest
from keel.wiring import Keel

ADA = Actor("ada", Role.ADMIN, "api-key")
OLGA = Actor("olga", Role.OPERATOR, "api-key")
OMAR = Actor("omar", Role.APPROVER, "api-key")
COSTS = {"approve": {"positive": 5, "negative": 0}, "decline": {"positive": 0, "negative": 1}}


def _trained(folder: Path, database_url: str) -> Keel:
    """The loan example (approvals: 1, thresholds priced by costs) with a small champion."""
    keel = loan_project(folder, database_url)
    ingest_simulated(keel, 6000, datetime(2024, 1, 1), datetime(2024, 4, 1))
    run = keel.trainer().train(
        TrainRequest(actor="tester", params={"n_estimators": 40, "num_leaves": 15})
    )
    registry = replace(keel.registry(), policy=ReleasePolicy(benchmark="holdout"))
    model, _ = registry.register(run.id, OLGA)
    registry.gate(model.version, OLGA)
    registry.promote(model.version, OLGA)
    return keel


def by(keel: Keel, actor: Actor) -> Keel:
    """The project as ``actor`` uses it (as a server sets the caller it authenticated)."""
    keel.caller = actor
    return keel


def _audited(keel: Keel) -> list[str]:
    with keel.reader() as unit:
        return [e.action for e in unit.audit.recent(limit=1000)]


def test_a_policy_change_passes_its_gate_two_people_and_rolls_back(
    tmp_path: Path, database_url: str
) -> None:
    keel = _trained(tmp_path / "proj", database_url)
    try:
        first = register_policy(by(keel, OLGA), note="as configured")
        assert first.created and first.policy.label == "p1"
        assert first.policy.digest == keel.project.decisions.digest()
        again = register_policy(by(keel, OLGA))
        assert not again.created and again.policy.version == 1

        tuned = tmp_path / "tuned.yaml"
        tune_thresholds(keel, policy_file=tuned)
        second = register_policy(by(keel, OLGA), tuned, note="tuned on the benchmark").policy
        assert second.version == 2 and second.digest != first.policy.digest
        assert second.deciding["costs"] == first.policy.deciding["costs"]  # kept from keel.yaml

        with pytest.raises(Conflict, match="has not been gated"):
            release_policy(by(keel, ADA), 2)
        gate = gate_policy(by(keel, OLGA), 2)
        assert gate.passed, gate.to_dict()
        assert gate.live is None and {c.name for c in gate.checks} == {"cost"}
        cost = gate.checks[0]
        assert cost.value is not None and cost.value <= 0  # tuned on these rows: never dearer

        asked = release_policy(by(keel, ADA), 2, reason="cheaper on the benchmark")
        assert asked.release is None and asked.needed == 1 and asked.policy.requested_by == "ada"
        assert keel.live_decisions()[0] is None  # nothing changed yet
        with pytest.raises(PolicyViolation, match="cannot approve"):
            approve_policy(by(keel, ADA), 2)
        with pytest.raises(PermissionDenied):
            approve_policy(by(keel, OLGA), 2)
        done = approve_policy(by(keel, OMAR), 2, note="looked at the trade-off")
        assert done.release is not None and done.release.state.policy == 2
        assert done.release.details["approvers"] == ["omar"]
        live, spec = keel.live_decisions()
        assert live == 2 and spec.digest() == second.digest
        scores = np.linspace(0.01, 0.99, 50)
        expected = keel.project.decisions.with_deciding(second.deciding).policy()
        assert keel.decision_policy().decide_many(scores) == expected.decide_many(scores)
        with pytest.raises(Conflict, match="already in force"):
            release_policy(by(keel, ADA), 2)

        listing = list_policies(by(keel, OLGA))
        assert listing.live == 2 and [p.version for p in listing.policies] == [2, 1]

        back = rollback_policy(by(keel, OLGA), reason="the review queue grew")
        assert back.state.policy is None and back.state.champion == 1
        assert keel.live_decisions()[0] is None
        assert keel.decision_policy().decide_many(scores) == (
            keel.project.decisions.policy().decide_many(scores)
        )
        with pytest.raises(Conflict, match="no released decision policy"):
            rollback_policy(by(keel, OLGA))
        audited = _audited(keel)
        for action in (
            "decisions.register",
            "decisions.gate",
            "decisions.release.requested",
            "decisions.approve",
            "release.policy",
            "release.policy_rollback",
        ):
            assert action in audited, action
    finally:
        keel.close()


def test_a_rejected_or_regated_request_needs_asking_again(
    tmp_path: Path, database_url: str
) -> None:
    keel = _trained(tmp_path / "proj", database_url)
    try:
        tuned = tmp_path / "tuned.yaml"
        tune_thresholds(keel, policy_file=tuned)
        version = register_policy(by(keel, OLGA), tuned).policy.version
        gate_policy(by(keel, OLGA), version)
        release_policy(by(keel, OLGA), version)
        with pytest.raises(Exception, match="needs a note"):
            reject_policy(by(keel, OMAR), version, note=" ")
        assert reject_policy(by(keel, OMAR), version, note="not this quarter").requested_by is None
        with pytest.raises(Conflict, match="waiting for approval"):
            approve_policy(by(keel, OMAR), version)
        release_policy(by(keel, OLGA), version)
        gate_policy(by(keel, OLGA), version)  # new evidence: the request is void
        assert show_policy(by(keel, OLGA), version).policy.requested_by is None
        with pytest.raises(Conflict, match="waiting for approval"):
            approve_policy(by(keel, OMAR), version)
    finally:
        keel.close()


def test_a_failing_policy_is_refused_with_its_evidence(tmp_path: Path) -> None:
    keel = _trained(tmp_path / "proj", f"sqlite:///{tmp_path / 'keel.db'}")
    try:
        costly = tmp_path / "decline.yaml"
        costly.write_text(
            yaml.safe_dump(
                {
                    "decisions": {
                        "thresholds": {"approve": "< 0.01", "decline": ">= 0.01"},
                        "ood": "decline",
                    }
                }
            )
        )
        version = register_policy(by(keel, OLGA), costly).policy.version
        gate = gate_policy(by(keel, OLGA), version)
        assert not gate.passed and gate.failed[0].name == "cost"
        with pytest.raises(PolicyViolation, match="failed its gate: cost"):
            release_policy(by(keel, OLGA), version)
    finally:
        keel.close()


@pytest.mark.parametrize(
    ("section", "path", "message"),
    [
        ({"review": {"audit_rate": 0.5}}, "decisions.review", "belongs to the project"),
        (
            {"segments": {"column": "planet", "overrides": {"x": {"costs": {"actions": COSTS}}}}},
            "decisions.segments.column",
            "not in the contract",
        ),
        (
            {"thresholds": None, "costs": None, "ood": None},
            "decisions.thresholds",
            "a released policy decides",
        ),
        (
            {"thresholds": {"approve": "< 0.3", "decline": ">= 0.2"}},
            "decisions.thresholds",
            "overlap",
        ),
        ({"threshold": {"approve": "< 0.3"}}, "decisions.threshold", "threshold"),
    ],
)
def test_a_bad_policy_file_is_one_error_naming_its_key(
    tmp_path: Path, section: dict[str, object], path: str, message: str
) -> None:
    keel = loan_project(tmp_path / "proj", f"sqlite:///{tmp_path / 'keel.db'}")
    try:
        file = tmp_path / "policy.yaml"
        file.write_text(yaml.safe_dump({"decisions": section}))
        with pytest.raises(ConfigError, match=message) as raised:
            register_policy(by(keel, OLGA), file)
        assert raised.value.path is not None and raised.value.path.startswith(path)
        assert str(file) in raised.value.message
        with keel.reader() as unit:
            assert unit.policies.all(keel.project.name) == []  # nothing registered
    finally:
        keel.close()
