"""The review queue on each backend: items from the prediction log, claims, leases, resolutions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml
from tests.contract.conftest import loan_project, open_project

from keel.app import monitoring, queries, review, training
from keel.data.ingest import BatchInput, Chunk
from keel.decisions.queue import PREDICTION_COLUMNS, ItemHeld, ReviewQueue
from keel.decisions.review import ItemState, Reason
from keel.errors import Conflict, NotFound, PermissionDenied, PolicyViolation
from keel.identity.actor import LOCAL_ADMIN, Actor
from keel.identity.roles import Role
from keel.identity.service import add_user
from keel.predictions import PredictionRecord
from keel.simulate import simulate_frame
from keel.store.tables.outcome_log import join_outcomes
from keel.wiring import Keel

ADMIN = Actor(LOCAL_ADMIN, Role.ADMIN, "local")
T0 = datetime(2024, 7, 1, 12, tzinfo=UTC)


def _record(
    n: int, decision: str | None, *, ood: bool = False, route: str = "champion"
) -> PredictionRecord:
    return PredictionRecord(
        request_id=f"r-{n}",
        prediction_id=f"p-{n:04d}",
        time=T0 + timedelta(seconds=n),
        model=None,  # lineage of these synthetic rows stops at the prediction
        entity_id=f"a-{n}",
        inputs={"application_id": f"a-{n}", "loan_amount": 1000.0 * n},
        score=None if decision == "defer" else 0.2 + (n % 5) / 20,
        decision=decision,
        ood=["range:income"] if ood else [],
        fallback="champion raised" if decision == "defer" else None,
        latency_ms=1.0,
        route=route,
    )


def _log(keel: Keel, records: list[PredictionRecord]) -> None:
    log = keel.prediction_log(durability="write")
    try:
        log.append(records)
    finally:
        log.close()


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> Iterator[tuple[Path, str, dict[str, str]]]:
    """The loan project with an audit sample of half the automatic decisions, two-reviewer
    rule for loans of 250,000 and more, and users: two reviewers, an approver, a viewer."""
    folder = tmp_path / "proj"
    keel = loan_project(folder, database_url)
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["decisions"]["review"] = {
        "audit_rate": 0.5,
        "lease_minutes": 10,
        "double_review": {"column": "loan_amount", "min": 250_000},
    }
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    keys = {}
    with keel.unit() as unit:
        for name, role in (
            ("rita", Role.REVIEWER),
            ("raul", Role.REVIEWER),
            ("omar", Role.APPROVER),
            ("vera", Role.VIEWER),
        ):
            keys[name] = add_user(unit, ADMIN, name, role)[1]
    keel.close()
    yield folder, database_url, keys


def _as(project: tuple[Path, str, dict[str, str]], name: str) -> Keel:
    folder, url, keys = project
    opened = open_project(folder, url)
    return replace(opened, settings=replace(opened.settings, api_key=keys[name]))


MIXED = [
    _record(1, "approve"),
    _record(2, "review"),
    _record(3, "decline", ood=True),
    _record(4, "defer"),
    _record(5, "review", route="shadow"),
    *[_record(n, "approve") for n in range(6, 46)],
]


def test_sync_makes_one_item_per_prediction_that_needs_a_person(project) -> None:  # type: ignore[no-untyped-def]
    rita = _as(project, "rita")
    _log(rita, MIXED)
    first = review.sync_review(rita).outcome
    again = review.sync_review(rita).outcome
    full = review.sync_review(rita, full=True).outcome
    items = review.list_items(rita, limit=1000)
    by_prediction = {item.prediction_id: item for item in items}
    assert by_prediction["p-0002"].reason is Reason.REVIEW
    assert by_prediction["p-0003"].reason is Reason.OOD
    assert by_prediction["p-0004"].reason is Reason.DEFER
    assert "p-0005" not in by_prediction  # shadow scores are never served, never reviewed
    audited = [i for i in items if i.reason is Reason.AUDIT]
    assert 8 <= len(audited) <= 33  # half of 41 automatic decisions: P(outside) < 1e-4
    assert first.created == len(items) and again.created == 0 and full.created == 0
    assert len(by_prediction) == len(items)
    assert items[0].reason is Reason.DEFER  # unscored, most urgent
    rita.close()


def test_two_reviewers_claiming_at_once_exactly_one_wins(project) -> None:  # type: ignore[no-untyped-def]
    rita, raul = _as(project, "rita"), _as(project, "raul")
    _log(rita, MIXED[:4])
    review.sync_review(rita)
    item = review.list_items(rita, reason=Reason.REVIEW)[0].id
    barrier, won, lost = threading.Barrier(2), [], []

    def claim(keel: Keel) -> None:
        barrier.wait()
        try:
            won.append(review.claim_item(keel, item).holder)
        except ItemHeld as exc:
            lost.append(exc)

    threads = [threading.Thread(target=claim, args=(k,)) for k in (rita, raul)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].fields["holder"] == won[0]
    assert str(item) in lost[0].message and "until" in lost[0].message
    rita.close()
    raul.close()


def test_an_expired_lease_returns_the_item_to_the_queue(project) -> None:  # type: ignore[no-untyped-def]
    rita, raul = _as(project, "rita"), _as(project, "raul")
    _log(rita, MIXED[:2])
    review.sync_review(rita)
    now = [datetime.now(UTC)]

    def queue(keel: Keel) -> ReviewQueue:
        spec = keel.project.decisions.review
        return ReviewQueue(keel.project.name, spec, keel.unit, keel.reader, lambda: now[0])

    actor_rita, actor_raul = rita.actor(), raul.actor()
    item = queue(rita).claim(actor_rita).id
    with pytest.raises(ItemHeld):
        queue(raul).claim(actor_raul, item)
    now[0] += timedelta(minutes=11)  # the lease was 10 minutes
    assert queue(raul).items(state=ItemState.OPEN)[0].id == item
    with pytest.raises(Conflict, match="lease ran out"):
        queue(rita).resolve(actor_rita, item, decision="approve")
    assert queue(raul).claim(actor_raul, item).holder == "raul"
    rita.close()
    raul.close()


def test_only_the_holder_resolves_and_a_viewer_is_refused(project) -> None:  # type: ignore[no-untyped-def]
    rita, raul, vera = _as(project, "rita"), _as(project, "raul"), _as(project, "vera")
    _log(rita, MIXED[:2])
    review.sync_review(rita)
    item = review.claim_item(rita).id
    with pytest.raises(Conflict, match="claimed by rita"):
        review.resolve_item(raul, item, decision="approve")
    with pytest.raises(PermissionDenied):
        review.resolve_item(vera, item, decision="approve")
    with pytest.raises(PermissionDenied):
        review.claim_item(vera, item)
    assert review.show_item(vera, item).item.holder == "rita"  # viewers read
    with pytest.raises(NotFound):
        review.show_item(vera, 999_999)
    released = review.release_item(rita, item)
    assert released.state is ItemState.OPEN and released.holder is None
    with pytest.raises(Conflict, match="not claimed by rita"):
        review.resolve_item(rita, item, decision="approve")
    for keel in (rita, raul, vera):
        keel.close()


def test_a_resolution_flows_back_as_an_outcome_of_the_prediction(project) -> None:  # type: ignore[no-untyped-def]
    rita = _as(project, "rita")
    _log(rita, MIXED[:2])
    review.sync_review(rita)
    item = review.claim_item(rita).id
    settled = review.resolve_item(rita, item, decision="decline", label=1.0, note="fake payslip")
    assert settled.state is ItemState.RESOLVED and settled.resolution == "decline"
    predictions, outcomes = rita.prediction_log(), rita.outcome_log()
    joined = join_outcomes(predictions.scan(), outcomes.scan()).collect()
    predictions.close()
    outcomes.close()
    row = joined.filter(pl.col("prediction_id") == settled.prediction_id).row(0, named=True)
    assert row["label"] == 1.0 and row["outcome_decision"] == "decline"
    assert row["outcome_source"] == "review"
    with rita.reader() as unit:
        actions = [e.action for e in unit.audit.recent(limit=10)]
    assert {"review.sync", "review.claim", "review.resolve"} <= set(actions)
    with pytest.raises(Conflict, match="resolved already"):
        review.claim_item(rita, item)
    trace = queries.lineage(rita, settled.prediction_id)  # the prediction, its review, outcome
    assert trace.review is not None and trace.review.resolution == "decline"
    assert [(o.source, o.label, o.by) for o in trace.outcomes] == [("review", 1.0, "prediction")]
    assert trace.to_dict()["review"]["item"] == item
    rita.close()


def test_a_high_risk_item_needs_two_reviewers_and_a_disagreement_escalates(project) -> None:  # type: ignore[no-untyped-def]
    rita, raul, omar = _as(project, "rita"), _as(project, "raul"), _as(project, "omar")
    _log(rita, [_record(300, "review")])  # loan_amount 300,000: two reviewers
    review.sync_review(rita)
    item = review.list_items(rita)[0]
    assert item.reviews_needed == 2
    review.claim_item(rita, item.id)
    first = review.resolve_item(rita, item.id, decision="approve")
    assert first.state is ItemState.OPEN and first.reviews_done == 1
    with pytest.raises(PolicyViolation, match="independent"):
        review.claim_item(rita, item.id)  # the same person cannot be the second reviewer
    review.claim_item(raul, item.id)
    second = review.resolve_item(raul, item.id, decision="decline")
    assert second.state is ItemState.ESCALATED
    with pytest.raises(PermissionDenied):
        review.resolve_item(raul, item.id, decision="decline")  # escalations go to an approver
    settled = review.resolve_item(omar, item.id, decision="decline", note="income unverified")
    assert settled.state is ItemState.RESOLVED and settled.resolution == "decline"
    stats = review.review_stats(omar).stats
    assert stats.agreement.items == 1
    with rita.reader() as unit:
        assert unit.audit.recent(limit=1, action="review.escalate")
    for keel in (rita, raul, omar):
        keel.close()


def test_reviewed_labels_fill_the_next_training_run_and_the_run_counts_them(project) -> None:  # type: ignore[no-untyped-def]
    rita = _as(project, "rita")
    frame = simulate_frame(
        rows=2000, seed=5, start=datetime(2024, 1, 1), end=datetime(2024, 3, 1)
    ).with_columns(
        pl.when(pl.int_range(pl.len()) < 10).then(None).otherwise(pl.col("defaulted"))
        .alias("defaulted")
    )  # fmt: skip
    request = BatchInput(rita.dataset, "sim", "sim", None, False, "tester")
    rita.ingestor().ingest(request, [Chunk(frame, False)])
    unlabelled = frame["application_id"].head(10).to_list()
    records = [
        replace(_record(n, "review"), entity_id=entity) for n, entity in enumerate(unlabelled[:4])
    ]
    _log(rita, records)
    review.sync_review(rita)
    for item in review.list_items(rita):
        review.claim_item(rita, item.id)
        review.resolve_item(rita, item.id, decision="decline", label=1.0)
    omar = _as(project, "omar")
    run = training.train(omar, params={"n_estimators": 10, "num_leaves": 7}).run
    omar.close()
    assert run.metrics["reviewed_labels"] == {**run.metrics["reviewed_labels"], "used": 4}
    assert run.metrics["reviewed_labels"]["available"] == 4
    assert "4 used of 4" in run.logs
    rita.close()


def test_a_missed_deadline_opens_one_review_incident(project) -> None:  # type: ignore[no-untyped-def]
    rita = _as(project, "rita")
    _log(rita, MIXED[:4])  # a deferred record: 4 hours to review it
    now = [datetime.now(UTC)]
    spec = rita.project.decisions.review
    queue = ReviewQueue(rita.project.name, spec, rita.unit, rita.reader, lambda: now[0])

    def scan(since: datetime | None) -> pl.DataFrame:
        log = rita.prediction_log()
        try:
            return log.scan().select(PREDICTION_COLUMNS).collect()
        finally:
            log.close()

    actor = rita.actor()
    assert queue.sync(scan, actor).overdue == 0
    now[0] += timedelta(hours=5)
    late = queue.sync(scan, actor)
    assert late.overdue == 1 and late.incident is not None
    assert queue.sync(scan, actor).overdue == 0  # each late item is reported once
    now[0] += timedelta(hours=20)  # the ood (8 h) and review (24 h) items too: the same incident
    later = queue.sync(scan, actor)
    assert later.overdue == 2 and later.incident == late.incident
    incidents = monitoring.list_incidents(rita)
    assert [(i.category, i.breaches) for i in incidents] == [("review", 3)]
    rita.close()


def test_override_rates_are_broken_down_by_segment(project) -> None:  # type: ignore[no-untyped-def]
    """Audited approvals of two regions: a reviewer overturns every northern one and upholds
    every southern one; the rates per region say so (the benchmark's slices are the segments)."""
    rita = _as(project, "rita")
    records = [
        replace(
            _record(n, "approve"),
            inputs={"application_id": f"a-{n}", "loan_amount": 1000.0, "region": region},
        )
        for n, region in zip(range(600, 640), ["north", "south"] * 20, strict=True)
    ]
    _log(rita, records)
    review.sync_review(rita)
    region_of = {r.prediction_id: r.inputs["region"] for r in records}
    for item in review.list_items(rita, limit=100):
        review.claim_item(rita, item.id)
        overturn = region_of[item.prediction_id] == "north"
        review.resolve_item(rita, item.id, decision="decline" if overturn else "approve")
    by_region = review.review_stats(rita).stats.segment_overrides["region"]
    assert set(by_region) == {"north", "south"}
    assert by_region["north"].hits == by_region["north"].n > 0
    assert by_region["south"].hits == 0 and by_region["south"].n > 0
    shown = review.review_stats(rita).to_dict()["override_rate_by_segment"]["region"]
    assert shown["north"]["n"] == by_region["north"].n
    rita.close()


def test_weighted_reviewed_labels_weigh_their_rows_and_are_never_stored(project) -> None:  # type: ignore[no-untyped-def]
    """``labels: weight``: the same reviewed labels as ``use``, counting a quarter each; the run
    records the weight, the model differs from the unweighted one, and the mark that says which
    rows a reviewer labelled stays out of the frozen benchmark sets."""
    folder, _, _ = project
    rita = _as(project, "rita")
    frame = simulate_frame(
        rows=2000, seed=5, start=datetime(2024, 1, 1), end=datetime(2024, 3, 1)
    ).with_columns(
        pl.when(pl.int_range(pl.len()) < 200).then(None).otherwise(pl.col("defaulted"))
        .alias("defaulted")
    )  # fmt: skip
    request = BatchInput(rita.dataset, "sim", "sim", None, False, "tester")
    rita.ingestor().ingest(request, [Chunk(frame, False)])
    unlabelled = frame["application_id"].head(200).to_list()
    _log(rita, [replace(_record(n, "review"), entity_id=e) for n, e in enumerate(unlabelled)])
    review.sync_review(rita)
    for item in review.list_items(rita, limit=300):
        review.claim_item(rita, item.id)
        review.resolve_item(rita, item.id, decision="decline", label=1.0)
    rita.close()
    params = {"n_estimators": 10, "num_leaves": 7}
    omar = _as(project, "omar")
    plain = training.train(omar, params=params).run
    omar.close()
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["decisions"]["review"].update({"labels": "weight", "label_weight": 0.25})
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    omar = _as(project, "omar")
    weighted = training.train(omar, params=params).run
    recorded = weighted.metrics["reviewed_labels"]
    assert recorded["policy"] == "weight" and recorded["weight"] == 0.25
    assert recorded["used"] == plain.metrics["reviewed_labels"]["used"] == 200
    assert "fitting rows weighted by review" in weighted.logs
    assert weighted.model_sha256 != plain.model_sha256
    with omar.reader() as unit:
        frozen = unit.benchmarks.get(omar.project.name, "holdout")
    assert frozen is not None
    assert "_keel_reviewed" not in omar.rows.read(frozen.digest).columns
    omar.close()


def test_the_agent_plans_a_retrain_when_reviewers_override_the_champion(project) -> None:  # type: ignore[no-untyped-def]
    """Audited approvals of the champion overturned by a reviewer: the override-rate trigger
    asks for a retrain, naming the champion, the counts and the test's p-value."""
    from tests.contract.conftest import ingest_simulated

    from keel.app import agent
    from keel.registry.policy import ReleasePolicy
    from keel.training.service import TrainRequest

    folder, url, _ = project
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    config["automation"] = {
        "triggers": [{"when": "override_rate", "above": 0.1, "min_reviews": 10, "do": "retrain"}]
    }
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    builder = open_project(folder, url)
    ingest_simulated(builder, 3000, datetime(2024, 1, 1), datetime(2024, 4, 1))
    run = builder.trainer().train(TrainRequest(actor="tester", params={"n_estimators": 20}))
    operator = Actor("olga", Role.OPERATOR, "api-key")
    registry = replace(builder.registry(), policy=ReleasePolicy())
    model, _ = registry.register(run.id, operator)
    registry.gate(model.version, operator)
    registry.promote(model.version, operator)
    builder.close()
    champion = f"loan-default/v{model.version}"

    rita = _as(project, "rita")
    before = agent.plan(rita)
    assert [d.key for d in before.decisions] == []  # nothing reviewed yet
    small = {"loan_amount": 1000.0}  # one reviewer settles it (no double review)
    _log(
        rita,
        [
            replace(
                _record(n, "approve"), model=champion, inputs={"application_id": f"a-{n}", **small}
            )
            for n in range(700, 760)
        ],
    )
    review.sync_review(rita)
    settled = 0
    for item in review.list_items(rita, limit=100):
        review.claim_item(rita, item.id)
        review.resolve_item(rita, item.id, decision="decline")  # every approval overturned
        settled += 1
    assert settled >= 10
    [decision] = agent.plan(rita).decisions
    assert decision.key == f"retrain:override:{champion}"
    evidence = decision.evidence
    assert (evidence["reviewed"], evidence["overridden"]) == (settled, settled)
    assert evidence["p_value"] <= 0.01
    rita.close()


def test_the_agent_names_the_segment_whose_overrides_rose(project) -> None:  # type: ignore[no-untyped-def]
    """``by_segment``: reviewers overturn every audited northern approval of the champion and
    uphold every southern one; the trigger asks for a retrain naming the northern region (its
    reviews read through the logged inputs, as ``keel review stats`` reads them), not the
    southern, each tested at alpha over the number of segments tested."""
    from tests.contract.conftest import ingest_simulated

    from keel.app import agent
    from keel.registry.policy import ReleasePolicy
    from keel.training.service import TrainRequest

    folder, url, _ = project
    config = yaml.safe_load((folder / "keel.yaml").read_text())
    trigger = {"when": "override_rate", "above": 0.1, "min_reviews": 8, "by_segment": True}
    config["automation"] = {"triggers": [{**trigger, "do": "retrain"}]}
    (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    builder = open_project(folder, url)
    ingest_simulated(builder, 3000, datetime(2024, 1, 1), datetime(2024, 4, 1))
    run = builder.trainer().train(TrainRequest(actor="tester", params={"n_estimators": 20}))
    operator = Actor("olga", Role.OPERATOR, "api-key")
    registry = replace(builder.registry(), policy=ReleasePolicy())
    model, _ = registry.register(run.id, operator)
    registry.gate(model.version, operator)
    registry.promote(model.version, operator)
    builder.close()
    champion = f"loan-default/v{model.version}"

    rita = _as(project, "rita")
    records = [
        replace(
            _record(n, "approve"),
            model=champion,
            inputs={"application_id": f"a-{n}", "loan_amount": 1000.0, "region": region},
        )
        for n, region in zip(range(800, 880), ["north", "south"] * 40, strict=True)
    ]
    _log(rita, records)
    review.sync_review(rita)
    region_of = {r.prediction_id: r.inputs["region"] for r in records}
    for item in review.list_items(rita, limit=200):
        review.claim_item(rita, item.id)
        overturn = region_of[item.prediction_id] == "north"
        review.resolve_item(rita, item.id, decision="decline" if overturn else "approve")
    [decision] = agent.plan(rita).decisions
    assert decision.key == f"retrain:override:{champion}"
    evidence = decision.evidence
    fired = {(s["column"], s["segment"]) for s in evidence["segments"]}
    assert ("region", "north") in fired and ("region", "south") not in fired
    north = next(s for s in evidence["segments"] if s["segment"] == "north")
    assert north["overridden"] == north["reviewed"] >= 8
    assert evidence["level"] == evidence["alpha"] / evidence["segments_tested"]
    rita.close()
