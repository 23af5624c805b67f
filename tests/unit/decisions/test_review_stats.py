"""``decisions.review`` and the queue's statistics: reasons, the audit sample, intervals."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from keel.decisions import DecisionPolicy
from keel.decisions.review import (
    ItemState,
    Reason,
    ReviewItem,
    ReviewSpec,
    in_audit_sample,
    priority_of,
    reason_for,
)
from keel.decisions.stats import audit_accuracy, cohen_kappa, queue_stats, wilson
from keel.errors import ConfigError

NOW = datetime(2024, 7, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("review", "path"),
    [
        ({"audit_rate": 1.5}, "decisions.review.audit_rate"),
        ({"lease_minutes": 0}, "decisions.review.lease_minutes"),
        ({"sla_hours": {"ood": -1}}, "decisions.review.sla_hours.ood"),
        ({"sla_hours": {"urgent": 1}}, "decisions.review.sla_hours"),
        ({"double_review": {"column": "loan_amount"}}, "decisions.review.double_review"),
        ({"labels": "sometimes"}, "decisions.review.labels"),
        ({"cadence": 1}, "decisions.review.cadence"),
    ],
    ids=["rate", "lease", "negative-sla", "unknown-reason", "column-without-min", "labels", "key"],
)
def test_a_bad_review_section_names_its_key_path(review: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        DecisionPolicy.parse({"review": review})
    assert info.value.path is not None and info.value.path.startswith(path), info.value.message


def test_reasons_in_order_of_urgency() -> None:
    spec = ReviewSpec(audit_rate=0.0)
    assert reason_for(decision="defer", ood=False, prediction_id="p", spec=spec) is Reason.DEFER
    assert reason_for(decision="review", ood=True, prediction_id="p", spec=spec) is Reason.OOD
    assert reason_for(decision="review", ood=False, prediction_id="p", spec=spec) is Reason.REVIEW
    assert reason_for(decision="approve", ood=False, prediction_id="p", spec=spec) is None
    assert priority_of(Reason.REVIEW, 0.5) == 1.0 > priority_of(Reason.REVIEW, 0.2)
    assert priority_of(Reason.AUDIT, 0.5) == 0.0


def test_the_audit_sample_takes_each_prediction_at_the_declared_rate_and_always_the_same() -> None:
    ids = [f"p-{n}" for n in range(20_000)]
    taken = [in_audit_sample(i, 0.1) for i in ids]
    # binomial(20000, 0.1): sd 42; 4 sd either side fails by chance with p < 1e-4
    assert abs(sum(taken) - 2000) < 170
    assert taken == [in_audit_sample(i, 0.1) for i in ids]
    assert not any(in_audit_sample(i, 0.0) for i in ids[:100])


def test_kappa_matches_scikit_learn_and_its_interval_holds_it() -> None:
    rng = np.random.default_rng(3)
    first = rng.choice(["approve", "decline"], size=300)
    second = np.where(rng.random(300) < 0.8, first, rng.choice(["approve", "decline"], size=300))
    kappa = cohen_kappa(list(first), list(second))
    assert kappa.value == pytest.approx(cohen_kappa_score(first, second))
    assert kappa.low is not None and kappa.high is not None
    assert kappa.low < kappa.value < kappa.high
    assert cohen_kappa([], []).value is None


def test_wilson_matches_its_formula_at_the_edges() -> None:
    z2 = 1.959964**2  # with no hit, the upper end is z^2 / (n + z^2)
    assert wilson(0, 10).low == pytest.approx(0.0, abs=1e-12)
    assert wilson(0, 10).high == pytest.approx(z2 / (10 + z2), rel=1e-6)
    assert wilson(10, 10).high == pytest.approx(1.0)
    assert wilson(0, 0).value is None


def _audited(decisions: np.ndarray, upheld: np.ndarray) -> list[ReviewItem]:
    return [
        ReviewItem(
            id=i,
            project="p",
            prediction_id=f"p-{i}",
            entity_id=f"a-{i}",
            predicted_at=NOW,
            model="m",
            score=0.1,
            decision=str(decision),
            reason=Reason.AUDIT,
            priority=0.0,
            created_at=NOW,
            due_at=NOW + timedelta(days=1),
            state=ItemState.RESOLVED,
            resolution=str(decision) if keep else "other",
        )
        for i, (decision, keep) in enumerate(zip(decisions, upheld, strict=True))
    ]


def test_the_audit_estimate_covers_the_true_accuracy_at_the_declared_rate() -> None:
    """Known truth: 20,000 automatic decisions, upheld with a probability that depends on the
    score (uncertain ones less often); reviewers see a 2% audit sample. Over 400 simulated
    months the 95% interval holds the true share of upheld decisions in 93% to 97.5% of them
    (a binomial(400, 0.95) count falls outside that with probability about 0.5%)."""
    rng = np.random.default_rng(11)
    months, covered, selected_bias = 400, 0, []
    for _ in range(months):
        scores = rng.beta(1.2, 6.0, size=20_000)
        upheld = rng.random(20_000) < 1.0 - 0.6 * scores
        decisions = np.where(scores < 0.3, "approve", "decline")
        audit = rng.random(20_000) < 0.02
        estimate = audit_accuracy(_audited(decisions[audit], upheld[audit]))
        truth = upheld.mean()
        assert estimate.low is not None and estimate.high is not None
        covered += estimate.low <= truth <= estimate.high
        uncertain = (scores > 0.25) & (scores < 0.35)  # what a review band would select
        selected_bias.append(upheld[uncertain].mean() - truth)
    assert 0.93 <= covered / months <= 0.975
    assert np.mean(selected_bias) < -0.05  # the selected cases would have understated it


def test_overrides_count_only_items_that_had_an_automatic_action() -> None:
    audited = _audited(np.array(["approve"] * 4), np.array([True, True, True, False]))
    asked = [replace(i, id=10 + i.id, reason=Reason.REVIEW, decision="review") for i in audited]
    found = queue_stats([*audited, *asked], [], NOW, review_action="review")
    assert set(found.overrides) == {"audit"}
    assert (found.overrides["audit"].hits, found.overrides["audit"].n) == (1, 4)
    assert found.audit_accuracy.value == 0.75
    assert found.decisions["review"] == {"approve": 3, "other": 1}
    assert "selected sample" in found.note
