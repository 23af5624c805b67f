"""The registry end to end on each metadata backend: versions, gates, approvals, releases."""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tests.contract.conftest import ingest_simulated, loan_project

from keel.config import Settings, load_project
from keel.data.contract import DataSchema
from keel.errors import Conflict, IntegrityError, InvalidInput, PermissionDenied, PolicyViolation
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.registry.approvals import RequestStatus
from keel.registry.policy import (
    LatencyGate,
    MetricGate,
    NonInferiorityGate,
    ReleasePolicy,
    SignatureGate,
    WorstSliceGate,
)
from keel.registry.service import Registry
from keel.training.service import TrainRequest
from keel.wiring import Keel, open_keel

SMALL = {"n_estimators": 40, "num_leaves": 15}
WEAK = {"n_estimators": 2, "num_leaves": 2}
ADMIN = Actor("admin", Role.ADMIN, "api-key")
OPERATOR = Actor("olga", Role.OPERATOR, "api-key")
ALICE = Actor("alice", Role.APPROVER, "api-key")
BOB = Actor("bob", Role.APPROVER, "api-key")
OPEN = ReleasePolicy()  # no gates but integrity, no approvals


@pytest.fixture
def keel(tmp_path: Path, database_url: str) -> Iterator[Keel]:
    """The loan project with 6,000 simulated, labelled applications ingested as v1."""
    opened = loan_project(tmp_path / "proj", database_url)
    ingest_simulated(opened, 6000, datetime(2024, 1, 1), datetime(2024, 4, 1))
    yield opened
    opened.close()


def registered(keel: Keel, params: dict[str, Any] = SMALL, **kwargs: Any) -> int:
    """Train a run with ``params`` and register it; its version number."""
    run = keel.trainer().train(TrainRequest(actor="tester", params=params, **kwargs))
    model, created = keel.registry().register(run.id, OPERATOR)
    assert created
    return model.version


def with_policy(keel: Keel, policy: ReleasePolicy) -> Registry:
    return replace(keel.registry(), policy=policy)


def audit_actions(keel: Keel) -> list[str]:
    with keel.reader() as unit:
        return [event.action for event in unit.audit.scan()]


def test_a_version_holds_lineage_signature_and_results(keel: Keel) -> None:
    run = keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    registry = keel.registry()
    model, created = registry.register(run.id, OPERATOR)
    assert created and model.version == 1 and model.label == "loan-default/v1"
    assert (model.run_id, model.model_sha256, model.data_version) == (
        run.id,
        run.model_sha256,
        run.data_version,
    )
    assert model.benchmarks == run.metrics["benchmarks"]
    assert {"model", "card.md", "card.html"} <= set(model.artifacts)
    fields = model.signature.by_name()
    assert fields["income"].required and not fields["credit_score"].required
    assert fields["purpose"].values and "car" in fields["purpose"].values
    assert "defaulted" not in fields and "application_id" not in fields
    again, created = registry.register(run.id, OPERATOR)
    assert not created and again == model
    assert audit_actions(keel).count("registry.register") == 1
    assert registry.model(1) == model


def test_only_a_succeeded_run_can_be_registered(keel: Keel) -> None:
    with pytest.raises(Exception, match="num_leaves"):
        keel.trainer().train(TrainRequest(actor="tester", params={"num_leaves": -1}))
    with pytest.raises(Conflict, match="failed"):
        keel.registry().register("r-0001", OPERATOR)
    with pytest.raises(PermissionDenied):
        keel.registry().register("r-0001", Actor("vic", Role.VIEWER, "api-key"))


def test_each_gate_passes_and_each_fails_on_its_own_evidence(keel: Keel) -> None:
    v1 = registered(keel)
    with_policy(keel, OPEN).gate(v1, OPERATOR)
    with_policy(keel, OPEN).promote(v1, OPERATOR)
    v2 = registered(keel, WEAK)
    passing = [
        MetricGate(metric="roc_auc", min=0.55),
        MetricGate(metric="log_loss", max=5.0),
        NonInferiorityGate(non_inferior_to="champion", metric="roc_auc", margin=0.5),
        WorstSliceGate(worst_slice_drop=0.5, metric="roc_auc"),
        LatencyGate(latency_p99_ms=10_000),
        SignatureGate(signature="compatible"),
    ]
    result = with_policy(keel, ReleasePolicy(gates=passing)).gate(v2, OPERATOR)
    assert result.passed, [c.to_dict() for c in result.failed]
    assert [c.kind for c in result.checks] == [
        "integrity",
        "metric",
        "metric",
        "non_inferiority",
        "worst_slice",
        "latency",
        "signature",
    ]
    failing = {
        "roc_auc >= 0.99": MetricGate(metric="roc_auc", min=0.99),
        "ece <= 1e-06": MetricGate(metric="ece", max=0.000001),
        "roc_auc non-inferior to champion (margin 0.005)": NonInferiorityGate(
            non_inferior_to="champion", metric="roc_auc", margin=0.005
        ),
        "worst slice drop of roc_auc <= 0": WorstSliceGate(worst_slice_drop=0.0, metric="roc_auc"),
        "p99 latency <= 1e-06 ms (1 row)": LatencyGate(latency_p99_ms=0.000001),
    }
    for name, spec in failing.items():
        result = with_policy(keel, ReleasePolicy(gates=[spec])).gate(v2, OPERATOR)
        assert [c.name for c in result.failed] == [name], result.to_dict()
        assert result.failed[0].value is not None
    assert keel.registry().latest_gate(v2) == result


def test_a_weaker_model_fails_non_inferiority_and_an_equal_one_passes(keel: Keel) -> None:
    policy = ReleasePolicy(
        gates=[NonInferiorityGate(non_inferior_to="champion", metric="roc_auc", margin=0.005)]
    )
    registry = with_policy(keel, policy)
    champion = registered(keel)
    registry.gate(champion, OPERATOR)
    registry.promote(champion, OPERATOR)
    weak = registered(keel, WEAK)
    check = registry.gate(weak, OPERATOR).checks[1]
    assert not check.passed and check.value is not None and check.value < -0.005
    assert check.interval is not None and check.interval[1] < 0
    same = registered(keel, seed=42, tags=("again",))  # the same recipe: the same model
    check = registry.gate(same, OPERATOR).checks[1]
    assert check.passed and check.value == 0.0 and check.interval == (0.0, 0.0)


def test_an_incompatible_signature_fails_its_gate(keel: Keel) -> None:
    policy = ReleasePolicy(gates=[SignatureGate(signature="compatible")])
    v1 = registered(keel)
    with_policy(keel, policy).gate(v1, OPERATOR)
    with_policy(keel, policy).promote(v1, OPERATOR)
    run = keel.trainer().train(TrainRequest(actor="tester", params=SMALL, seed=7))
    columns = dict(keel.data_schema().contract.columns)
    columns["credit_score"] = columns["credit_score"].model_copy(update={"nullable": False})
    old = keel.data_schema()
    stricter = DataSchema(
        contract=old.contract.model_copy(update={"columns": columns}),
        entity=old.entity,
        timestamp=old.timestamp,
        target=old.target,
    )
    registry = replace(keel.registry(), schema=stricter, policy=policy)
    v2, _ = registry.register(run.id, OPERATOR)
    check = registry.gate(v2.version, OPERATOR).checks[1]
    assert not check.passed and "'credit_score' became required" in check.detail


def test_a_corrupt_artifact_fails_integrity(keel: Keel) -> None:
    v1 = registered(keel)
    model = keel.registry().model(v1)
    blob = Path(keel.settings.store_url) / "sha256" / model.model_sha256[:2] / model.model_sha256
    blob.write_bytes(blob.read_bytes() + b" ")
    result = with_policy(keel, OPEN).gate(v1, OPERATOR)
    assert [c.kind for c in result.failed] == ["integrity"]
    assert "corrupt" in result.failed[0].detail
    with pytest.raises(IntegrityError):
        keel.registry().bundle(v1)


def test_four_eyes_refuses_self_approval_and_the_wrong_role(keel: Keel) -> None:
    registry = with_policy(keel, ReleasePolicy(approvals=1))
    v1 = registered(keel)
    registry.gate(v1, OPERATOR)
    outcome = registry.promote(v1, ALICE)
    assert outcome.release is None and outcome.request is not None
    before = audit_actions(keel)
    with pytest.raises(PolicyViolation, match="cannot approve"):
        registry.approve(v1, ALICE)
    with pytest.raises(PermissionDenied, match="approver role"):
        registry.approve(v1, OPERATOR)
    assert audit_actions(keel) == before
    head, pending = registry.status()
    assert head is None and [p.id for p in pending] == [outcome.request.id]
    applied = registry.approve(v1, BOB, note="read the card")
    assert applied.release is not None and applied.release.state.champion == v1
    assert applied.request is not None and applied.request.status is RequestStatus.APPLIED
    assert [a.approver for a in applied.approvals] == ["bob"]
    assert registry.status() == (applied.release, [])
    assert audit_actions(keel)[-2:] == ["registry.approve", "release.promote"]


def test_a_new_gate_result_invalidates_approvals(keel: Keel) -> None:
    registry = with_policy(keel, ReleasePolicy(approvals=2))
    v1 = registered(keel)
    registry.gate(v1, OPERATOR)
    registry.promote(v1, OPERATOR)
    waiting = registry.approve(v1, ALICE)
    assert waiting.release is None and len(waiting.approvals) == 1
    registry.gate(v1, OPERATOR)
    with pytest.raises(Conflict, match="no promotion of v1 is waiting"):
        registry.approve(v1, BOB)
    again = registry.promote(v1, OPERATOR)
    assert again.request is not None and again.request.id == "p-0002"
    assert registry.approve(v1, ALICE).release is None
    assert registry.approve(v1, BOB).release is not None


def test_overriding_a_failed_gate_needs_an_admin_and_a_reason(keel: Keel) -> None:
    registry = with_policy(keel, ReleasePolicy(gates=[MetricGate(metric="roc_auc", min=0.99)]))
    v1 = registered(keel)
    assert not registry.gate(v1, OPERATOR).passed
    with pytest.raises(PolicyViolation, match=r"the gate failed: roc_auc >= 0\.99"):
        registry.promote(v1, ADMIN)
    with pytest.raises(PolicyViolation):
        registry.promote(v1, ADMIN, override="   ")
    with pytest.raises(PermissionDenied, match="admin role"):
        registry.promote(v1, OPERATOR, override="trust me")
    assert registry.status()[0] is None
    outcome = registry.promote(v1, ADMIN, override="known issue, ticket 12")
    assert outcome.release is not None and outcome.release.reason == "known issue, ticket 12"
    assert audit_actions(keel)[-2:] == ["release.override", "release.promote"]


def test_promoting_needs_a_gate_result(keel: Keel) -> None:
    v1 = registered(keel)
    with pytest.raises(Conflict, match="has not been gated"):
        with_policy(keel, OPEN).promote(v1, OPERATOR)


def test_shadow_canary_and_promotion_compose(keel: Keel) -> None:
    registry = with_policy(keel, OPEN)
    v1, v2 = registered(keel), registered(keel, seed=7)
    for version in (v1, v2):
        registry.gate(version, OPERATOR)
    with pytest.raises(Conflict, match="needs a champion"):
        registry.canary(v2, 10, OPERATOR)
    registry.promote(v1, OPERATOR)
    assert registry.shadow(v2, OPERATOR).state.shadow == (v2,)
    state = registry.canary(v2, 10, OPERATOR).state
    assert (state.champion, state.shadow, state.canary, state.canary_share) == (v1, (v2,), v2, 10)
    with pytest.raises(Exception, match=r"\[0, 100\)"):
        registry.canary(v2, 100, OPERATOR)
    promoted = registry.promote(v2, OPERATOR).release
    assert promoted is not None
    assert promoted.state.to_dict() == {
        "champion": v2,
        "shadow": [],
        "canary": None,
        "previous_champion": v1,
        "policy": None,
        "paused": False,
    }


def test_rollback_walks_back_one_change_at_a_time(keel: Keel) -> None:
    registry = with_policy(keel, OPEN)
    versions = [registered(keel, seed=seed) for seed in (1, 2, 3)]
    for version in versions:
        registry.gate(version, OPERATOR)
        registry.promote(version, OPERATOR)
    assert registry.rollback(OPERATOR, reason="v3 misbehaves").state.champion == versions[1]
    assert registry.rollback(OPERATOR).state.champion == versions[0]
    with pytest.raises(Conflict, match="nothing to roll back to"):
        registry.rollback(OPERATOR)
    history = registry.history()
    assert [r.seq for r in history] == [5, 4, 3, 2, 1]
    assert [r.parent for r in history] == [4, 3, 2, 1, 0]
    assert [r.action for r in history] == ["rollback", "rollback", "promote", "promote", "promote"]
    assert history[1].reason == "v3 misbehaves"


def test_a_pause_stays_until_resumed_and_rollback_walks_past_it(keel: Keel) -> None:
    registry = with_policy(keel, OPEN)
    with pytest.raises(Conflict, match="nothing has been released"):
        registry.pause(OPERATOR)
    v1, v2 = (registered(keel, seed=seed) for seed in (1, 2))
    for version in (v1, v2):
        registry.gate(version, OPERATOR)
        registry.promote(version, OPERATOR)
    paused = registry.pause(OPERATOR, reason="drill")
    assert paused.state.paused and paused.state.champion == v2 and paused.restores == 2
    with pytest.raises(Conflict, match="already paused"):
        registry.pause(OPERATOR)
    back = registry.rollback(OPERATOR, reason="v2 misbehaves")  # undoes the promotion of v2
    assert (back.state.champion, back.state.paused) == (v1, True)
    resumed = registry.pause(OPERATOR, paused=False)
    assert (resumed.state.champion, resumed.state.paused) == (v1, False)
    with pytest.raises(Conflict, match="not paused"):
        registry.pause(OPERATOR, paused=False)
    assert [r.action for r in registry.history()][:3] == ["resume", "rollback", "pause"]
    with keel.reader() as unit:
        events = [e.action for e in unit.audit.recent(limit=10)]
    assert "release.pause" in events and "release.resume" in events
    with pytest.raises(PermissionDenied):
        registry.pause(Actor("vera", Role.VIEWER, "api-key"))


def _promote_back_and_forth(folder: str, database_url: str, rounds: int) -> tuple[int, int]:
    """In its own process: flip the champion between v1 and v2; (changes made, races lost)."""
    project = load_project(Path(folder) / "keel.yaml")
    settings = Settings.resolve(Path(folder), project, environ={}, database_url=database_url)
    keel = open_keel(settings, project=project)
    registry = with_policy(keel, OPEN)
    made = lost = 0
    try:
        for _ in range(rounds):
            head, _ = registry.status()
            target = 2 if head is not None and head.state.champion == 1 else 1
            try:
                registry.promote(target, OPERATOR)
                made += 1
            except Conflict:
                lost += 1  # another process changed the release first: nothing was written
    finally:
        keel.close()
    return made, lost


def test_concurrent_promotions_never_fork_the_history(keel: Keel) -> None:
    registry = with_policy(keel, OPEN)
    for version in (registered(keel), registered(keel, seed=7)):
        registry.gate(version, OPERATOR)
    folder = str(keel.settings.project_dir)
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        results = pool.starmap(
            _promote_back_and_forth, [(folder, keel.settings.database_url, 15)] * 4
        )
    made = sum(m for m, _ in results)
    history = list(reversed(registry.history(limit=1000)))
    assert len(history) == made > 0
    assert [r.seq for r in history] == list(range(1, made + 1))
    assert all(r.parent == r.seq - 1 for r in history)
    for before, after in itertools.pairwise(history):
        assert after.state.champion != before.state.champion  # no promotion was applied twice
        assert after.state.previous_champion == before.state.champion


def test_a_rejection_needs_an_approver_and_a_note_and_keeps_the_champion(keel: Keel) -> None:
    registry = with_policy(keel, ReleasePolicy(approvals=1))
    v1 = registered(keel)
    registry.gate(v1, OPERATOR)
    request = registry.promote(v1, ALICE).request
    assert request is not None
    with pytest.raises(PermissionDenied, match="approver role"):
        registry.reject(v1, OPERATOR, note="no")
    with pytest.raises(InvalidInput, match="needs a note"):
        registry.reject(v1, BOB, note="  ")
    rejected = registry.reject(v1, BOB, note="calibration is off")
    assert (rejected.id, rejected.status) == (request.id, RequestStatus.REJECTED)
    assert registry.status() == (None, [])
    assert audit_actions(keel)[-1] == "registry.reject"
    with pytest.raises(Conflict, match="no promotion of v1 is waiting"):
        registry.approve(v1, BOB)
    again = registry.promote(v1, ALICE).request  # the version may be requested again
    assert again is not None and again.id != request.id
