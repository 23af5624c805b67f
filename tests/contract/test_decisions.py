"""Decisions by cost end to end: tune on the champion's benchmark, serve, replay the log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from tests.contract.conftest import ingest_simulated, open_project
from tests.e2e.chromium import drawn_plots

from keel.app.decisions import decision_kpis, replay_policy, tune_thresholds
from keel.app.scaffold import scaffold
from keel.app.traffic import request_records
from keel.decisions import DecisionPolicy
from keel.errors import ConfigError, InvalidInput
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.predictions import OutcomeRecord, PredictionRecord
from keel.registry.policy import ReleasePolicy
from keel.serving.predictor import Predictor
from keel.simulate import simulate_frame
from keel.store.sql.schema import upgrade
from keel.training.service import TrainRequest
from keel.wiring import Keel

pytestmark = pytest.mark.xdist_group("decisions")  # one worker builds the trained project once
OPERATOR = Actor("olga", Role.OPERATOR, "api-key")
COSTS = {
    "amount": "loan_amount",
    "outcomes": {"positive": "default", "negative": "repaid"},
    "actions": {
        "approve": {"default": "0.6 * loan_amount", "repaid": 0},
        "review": 400,
        "decline": {"default": 0, "repaid": "0.1 * loan_amount"},
    },
}


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keel]:
    """The loan project deciding by costs, with a small champion (SQLite: nothing here writes
    to the database that the other suites do not test on PostgreSQL)."""
    folder = tmp_path_factory.mktemp("decisions") / "proj"
    scaffold(folder, "loan")
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["decisions"] = {"costs": COSTS, "ood": "review"}
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    opened = open_project(folder, f"sqlite:///{folder / 'keel.db'}")
    upgrade(opened.db)
    ingest_simulated(opened, 8000, datetime(2024, 1, 1), datetime(2024, 4, 1))
    run = opened.trainer().train(
        TrainRequest(actor="tester", params={"n_estimators": 60, "num_leaves": 15})
    )
    registry = replace(opened.registry(), policy=ReleasePolicy(benchmark="holdout"))
    model, _ = registry.register(run.id, OPERATOR)
    registry.gate(model.version, OPERATOR)
    registry.promote(model.version, OPERATOR)
    _serve(opened)
    yield opened
    opened.close()


def _serve(keel: Keel) -> None:
    """A later month through the real predictor under keel.yaml's cost policy; labels later."""
    registry = keel.registry()
    head, _ = registry.status()
    assert head is not None and head.state.champion is not None
    predictor = Predictor(
        registry.bundle(head.state.champion),
        schema=keel.data_schema(),
        policy=keel.decision_policy(),
        model="loan-default/v1",
    )
    frame = simulate_frame(rows=3000, seed=31, start=datetime(2024, 4, 1), end=datetime(2024, 5, 1))
    records = request_records(frame)
    now = datetime.now(UTC)
    found = predictor.predict(records)
    log, outcomes = keel.prediction_log(durability="write"), keel.outcome_log(durability="write")
    try:
        log.append(
            [
                PredictionRecord(
                    request_id="r",
                    prediction_id=f"p-{i}",
                    time=now,
                    model=p.model,
                    entity_id=p.entity_id,
                    inputs=record,
                    score=p.score,
                    decision=p.decision,
                    ood=[str(f) for f in p.ood],
                    route="champion",
                )
                for i, (p, record) in enumerate(zip(found, records, strict=True))
            ]
        )
        outcomes.append(
            [
                OutcomeRecord(time=now, entity_id=str(e), label=float(y))
                for e, y in frame.select("application_id", "defaulted").iter_rows()
            ]
        )
    finally:
        log.close()
        outcomes.close()


def test_tune_writes_the_trade_off_and_a_policy_that_replay_prices(keel: Keel) -> None:
    folder = keel.settings.project_dir
    page, policy = folder / "tune.html", folder / "tuned.yaml"
    report = tune_thresholds(keel, max_middle_share=0.1, page=page, policy_file=policy)
    tuned = report.tuned
    assert set(tuned.thresholds()) == {"approve", "review", "decline"}
    assert tuned.shares["review"] <= 0.1 + 1e-9
    assert tuned.cost.low <= tuned.cost.value <= tuned.cost.high
    plots = drawn_plots(page, folder)
    assert len(plots) == 1 and plots[0]["marks"] > 0
    assert "http" not in page.read_text().replace("http://www.w3.org/2000/svg", "")
    found = replay_policy(keel, policy).replay
    assert found.rows == 3000 and found.changed > 0
    expected = found.expected_cost
    assert expected.low is not None and expected.high is not None
    assert expected.low <= expected.difference <= expected.high  # type: ignore[operator]
    # the cost policy is optimal in expectation given the calibrated score: thresholds cost more
    assert expected.difference is not None and expected.difference > 0
    assert found.realized_cost.rows == 3000


def test_replaying_the_served_policy_changes_nothing(keel: Keel) -> None:
    same = keel.settings.project_dir / "same.yaml"
    same.write_text(yaml.safe_dump({"decisions": {"costs": COSTS, "ood": "review"}}))
    found = replay_policy(keel, same).replay
    assert found.changed == 0 and found.expected_cost.difference == 0.0


def test_a_bad_policy_file_is_one_error_naming_the_file_and_key(keel: Keel, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"decisions": {"costs": {**COSTS, "actions": {"approve": 1}}}}))
    with pytest.raises(ConfigError) as info:
        replay_policy(keel, bad)
    assert str(bad) in info.value.message and info.value.path == "decisions.costs.actions"


def test_kpis_per_chunk_price_what_was_decided(keel: Keel) -> None:
    chunks = decision_kpis(keel)
    assert sum(c.rows for c in chunks) == 3000  # one time stamp: one chunk (never split)
    for chunk in chunks:
        assert chunk.labelled == chunk.rows  # every outcome arrived in this test
        assert chunk.expected_cost is not None and chunk.realized_cost is not None
        assert chunk.review_rate == chunk.shares.get("review", 0.0)
        assert abs(sum(chunk.shares.values()) - 1.0) < 1e-9
    assert chunks[0].to_dict()["override_rate"]["n"] == 0  # no review settled yet


def test_the_risk_controlled_band_holds_its_error_rate_on_a_later_month(keel: Keel) -> None:
    """The band tuned on the benchmark set, applied to the month served after it: the error
    rate of its automatic decisions stays under the declared level."""
    folder = keel.settings.project_dir
    policy = folder / "risk.yaml"
    report = tune_thresholds(
        keel, max_error_rate=0.1, risk_confidence=0.9, policy_file=policy, page=None
    )
    band = report.risk
    assert band is not None and report.risk_cost is not None
    assert band.error_rate <= 0.1 and 0.0 < band.review_share < 1.0
    written = yaml.safe_load(policy.read_text())["decisions"]["thresholds"]
    assert written == band.thresholds()
    registry = keel.registry()
    head, _ = registry.status()
    assert head is not None and head.state.champion is not None
    frame = simulate_frame(rows=3000, seed=31, start=datetime(2024, 4, 1), end=datetime(2024, 5, 1))
    scores = registry.bundle(head.state.champion).score(frame)
    defaulted = frame["defaulted"].to_numpy() == 1
    below, above = scores < band.low, scores >= band.high
    errors = (below & defaulted).sum() + (above & ~defaulted).sum()
    assert (below | above).sum() > 1000
    assert errors / (below | above).sum() <= 0.1


def test_declared_constraints_bound_the_tuning_and_refuse_a_band_they_cannot_hold(
    keel: Keel,
) -> None:
    section = keel.project.decisions
    limited = section.model_copy(
        update={"constraints": section.constraints.model_copy(update={"max_review_rate": 0.02})}
    )
    project = keel.project.model_copy(update={"decisions": limited})
    strict = replace(keel, project=project)
    assert tune_thresholds(strict).tuned.shares["review"] <= 0.02 + 1e-9
    with pytest.raises(InvalidInput) as info:
        tune_thresholds(strict, max_error_rate=0.03)
    assert info.value.path == "decisions.constraints.max_review_rate"
    assert "review rate" in info.value.message


def test_a_negative_constraint_names_its_key() -> None:
    from keel.decisions.policy import DecisionPolicy

    with pytest.raises(ConfigError) as info:
        DecisionPolicy.parse({"costs": COSTS, "constraints": {"max_review_rate": -0.1}})
    assert info.value.path == "decisions.constraints.max_review_rate"


def test_a_segment_override_decides_served_records_and_replays(keel: Keel) -> None:
    """Records of one region are declined above a lower score; the predictor reads the region
    from each record, and replaying the log under the segmented policy changes only them."""
    overrides = {"north": {"thresholds": {"approve": "< 0.02", "decline": ">= 0.02"}}}
    section = {
        "costs": COSTS,
        "ood": "review",
        "segments": {"column": "region", "overrides": overrides},
    }
    policy = DecisionPolicy.parse(section)
    registry = keel.registry()
    head, _ = registry.status()
    assert head is not None and head.state.champion is not None
    predictor = Predictor(
        registry.bundle(head.state.champion),
        schema=keel.data_schema(),
        policy=policy,
        model="loan-default/v1",
    )
    frame = simulate_frame(rows=400, seed=32, start=datetime(2024, 4, 1), end=datetime(2024, 5, 1))
    records = request_records(frame)
    found = predictor.predict(records)
    north = [(p, r) for p, r in zip(found, records, strict=True) if r["region"] == "north"]
    assert north and all(
        p.decision == ("approve" if p.score < 0.02 else "decline") or p.ood for p, _ in north
    )
    assert [p.decision for p in predictor.predict(records[:1])] == [found[0].decision]
    path = keel.settings.project_dir / "segmented.yaml"
    path.write_text(yaml.safe_dump({"decisions": section}))
    replayed = replay_policy(keel, path).replay
    assert replayed.changed > 0
    assert replayed.candidate_shares["review"] < replayed.logged_shares["review"]


def test_the_monitor_stores_decision_kpis_and_a_breached_limit_opens_an_incident(
    keel: Keel,
) -> None:
    from keel.app.monitoring import list_incidents, run_monitor, write_report
    from keel.decisions.kpi_limits import KpiLimitsSpec

    limits = KpiLimitsSpec.model_validate({"shares": {"approve": {"max": 0.01}}})
    section = keel.project.decisions.model_copy(update={"kpi_limits": limits})
    limited = replace(keel, project=keel.project.model_copy(update={"decisions": section}))
    outcome = run_monitor(limited, flush=True)
    stored = [c.results["decisions"] for c in outcome.chunks]
    assert sum(k["rows"] for k in stored) == 3000
    assert all(k["expected_cost"] is not None for k in stored)
    assert all("shares.approve" in k["intervals"] for k in stored)
    incidents = [i for i in list_incidents(limited) if i.category == "decisions"]
    assert len(incidents) == 1 and "approve" in incidents[0].title
    page = write_report(limited, keel.settings.project_dir / "monitor.html").out
    assert "Decision KPIs over time" in page.read_text()
