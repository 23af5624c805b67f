"""The planner: triggers matched against observations, keys that make a trigger act once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from keel.automation.planner import Estimate, Labels, Observations, Observed, estimates_of, plan
from keel.automation.policy import AutomationSpec, Mode

POLICY = AutomationSpec.model_validate(
    {
        "triggers": [
            {"when": "incident", "category": "drift", "do": "retrain"},
            {"when": "incident", "category": "slo", "min_severity": "high", "do": "rollback"},
            {"when": "estimated_performance", "metric": "roc_auc", "below": 0.7, "do": "retrain"},
        ],
        "actions": {"retrain": "auto"},
    }
)
DRIFT = Observed(3, "drift", "medium", "drift: income psi")
SLO_LOW = Observed(4, "slo", "medium", "slo: p99")


def test_each_trigger_fires_on_what_it_names_with_its_evidence() -> None:
    below = Estimate("2026-01-03", "roc_auc", 0.64, 0.61, 0.68)
    straddling = Estimate("2026-01-04", "roc_auc", 0.68, 0.65, 0.71)
    found = plan(POLICY, Observations([DRIFT, SLO_LOW], [below, straddling]))
    assert [d.key for d in found] == ["retrain:incident:3", "retrain:estimated:2026-01-03:roc_auc"]
    assert found[0].mode is Mode.AUTO and found[0].evidence["incident"] == 3
    assert found[1].evidence["interval"] == [0.61, 0.68]
    assert found[0].rule.startswith("automation.triggers[0]")


def test_an_answered_key_is_never_planned_again() -> None:
    assert plan(POLICY, Observations([DRIFT]), answered=["retrain:incident:3"]) == []


def test_dry_run_marks_every_decision() -> None:
    dry = POLICY.model_copy(update={"dry_run": True})
    assert plan(dry, Observations([DRIFT]))[0].to_dict()["mode"] == "dry_run"


def test_estimates_without_an_interval_fire_nothing() -> None:
    results = {"estimated": {"metrics": {"roc_auc": {"value": 0.5, "low": None, "high": None}}}}
    assert estimates_of("c", results) == []
    good = {"estimated": {"metrics": {"roc_auc": {"value": 0.5, "low": 0.4, "high": 0.6}}}}
    assert estimates_of("c", good) == [Estimate("c", "roc_auc", 0.5, 0.4, 0.6)]


def test_a_schedule_fires_once_per_period_and_new_labels_once_per_version() -> None:
    policy = AutomationSpec.model_validate(
        {
            "triggers": [
                {"when": "schedule", "every_days": 7, "do": "retrain"},
                {"when": "new_labels", "rows": 1000, "do": "retrain"},
            ]
        }
    )
    monday = datetime(2026, 1, 5, tzinfo=UTC)
    same_week = datetime(2026, 1, 7, tzinfo=UTC)
    first = plan(policy, Observations(now=monday, labels=Labels(4, 1500)))
    assert [d.key.split(":")[1] for d in first] == ["schedule", "labels"]
    answered = [d.key for d in first]
    assert (
        plan(policy, Observations(now=same_week, labels=Labels(4, 1500)), answered=answered) == []
    )
    assert plan(policy, Observations(labels=Labels(5, 999))) == []
    later = plan(policy, Observations(now=datetime(2026, 1, 20, tzinfo=UTC)), answered=answered)
    assert len(later) == 1 and later[0].evidence["every_days"] == 7


OVERRIDE = AutomationSpec.model_validate(
    {
        "triggers": [
            {"when": "override_rate", "above": 0.1, "min_reviews": 100, "do": "retrain"},
        ]
    }
)


def test_the_override_trigger_fires_once_per_champion_past_its_minimum() -> None:
    from keel.automation.planner import Overrides

    many = Observations(overrides=Overrides("loan-default/v3", 200, 40))
    [decision] = plan(OVERRIDE, many)
    assert decision.key == "retrain:override:loan-default/v3"
    assert decision.evidence["rate"] == 0.2 and decision.evidence["p_value"] < 0.01
    assert plan(OVERRIDE, many, answered=[decision.key]) == []  # once per champion
    assert plan(OVERRIDE, Observations(overrides=Overrides("loan-default/v3", 99, 99))) == []
    assert plan(OVERRIDE, Observations(overrides=Overrides("loan-default/v3", 200, 25))) == []
    assert plan(OVERRIDE, Observations()) == []


def test_the_override_trigger_keeps_its_false_alarm_rate_and_catches_a_real_rise() -> None:
    """Known truth: champions whose true override rate is exactly the limit (the worst case of
    the null) fire at most alpha of the time; at twice the limit, nearly always."""
    import numpy as np

    from keel.automation.planner import Overrides

    rng = np.random.default_rng(20261204)
    trials, reviewed = 4000, 200

    def fired(rate: float) -> float:
        hits = rng.binomial(reviewed, rate, size=trials)
        return float(
            np.mean([bool(plan(OVERRIDE, Observations(overrides=Overrides("m", reviewed, int(k)))))
                     for k in hits])
        )  # fmt: skip

    alpha = 0.01
    assert fired(0.1) <= alpha + 3 * (alpha * (1 - alpha) / trials) ** 0.5
    assert fired(0.05) == 0.0
    assert fired(0.2) >= 0.95


def test_the_new_actions_carry_their_mode_key_and_sample_size() -> None:
    policy = AutomationSpec.model_validate(
        {
            "triggers": [
                {"when": "incident", "category": "slo", "do": "pause_model"},
                {"when": "incident", "category": "drift", "do": "open_review_items"},
                {
                    "when": "incident",
                    "category": "drift",
                    "do": "open_review_items",
                    "review_sample": 7,
                },
                {"when": "incident", "category": "drift", "do": "notify"},
            ],
            "actions": {"pause_model": "forbidden", "notify": "auto"},
            "review_sample": 25,
        }
    )
    found = plan(policy, Observations([DRIFT, SLO_LOW]))
    assert [(d.key, d.mode) for d in found] == [
        ("pause_model:incident:4", Mode.FORBIDDEN),
        ("open_review_items:incident:3", Mode.NEEDS_APPROVAL),
        ("notify:incident:3", Mode.AUTO),
    ]  # the second review trigger has the first one's key: one action per incident
    assert found[1].evidence["review_sample"] == 25 and found[1].evidence["window_days"] == 7
    assert "review_sample" not in found[0].evidence


BY_SEGMENT = AutomationSpec.model_validate(
    {
        "triggers": [
            {
                "when": "override_rate",
                "above": 0.1,
                "min_reviews": 50,
                "by_segment": True,
                "do": "retrain",
            },
        ]
    }
)
SEGMENT_REVIEWS = {"north": 400, "south": 200, "east": 120, "west": 60, "islands": 50}


def _by_segment(overridden: dict[str, int], reviews: dict[str, int] = SEGMENT_REVIEWS):  # type: ignore[no-untyped-def]
    from keel.automation.planner import Overrides, SegmentOverrides

    segments = tuple(
        SegmentOverrides("region", value, reviews[value], overridden[value]) for value in reviews
    )
    total = sum(reviews.values())
    return Observations(
        overrides=Overrides("loan-default/v3", total, sum(overridden.values()), segments)
    )


def test_the_segment_override_trigger_names_the_segment_and_skips_small_ones() -> None:
    quiet = {"north": 40, "south": 20, "east": 12, "west": 6, "islands": 5}
    assert plan(BY_SEGMENT, _by_segment(quiet)) == []
    # a rise in one region only: the champion-wide rate (12%) stays within what 0.1 explains
    # at the champion-wide test's alpha, the region's does not at alpha / 5
    risen = {**quiet, "east": 30}
    [decision] = plan(BY_SEGMENT, _by_segment(risen))
    assert decision.key == "retrain:override:loan-default/v3"  # once per champion
    evidence = decision.evidence
    assert [s["segment"] for s in evidence["segments"]] == ["east"]
    assert evidence["segments"][0]["column"] == "region"
    assert evidence["segments_tested"] == 5 and evidence["level"] == pytest.approx(0.01 / 5)
    whole = OVERRIDE.model_copy(
        update={"triggers": [OVERRIDE.triggers[0].model_copy(update={"min_reviews": 50})]}
    )
    assert plan(whole, _by_segment(risen)) == []  # diluted champion-wide
    # a segment below min_reviews is neither tested nor counted in k
    few = {**SEGMENT_REVIEWS, "islands": 10}
    small = plan(BY_SEGMENT, _by_segment({**risen, "islands": 10}, few))
    assert small[0].evidence["segments_tested"] == 4
    assert all(s["segment"] != "islands" for s in small[0].evidence["segments"])


def test_the_segment_override_trigger_keeps_the_family_rate_and_catches_one_segment() -> None:
    """Known truth: five segments (400 to 50 reviews) each at exactly the limit (the worst
    case of the null): the family fires at most alpha of the time with Bonferroni, while
    testing each segment at alpha exceeds it (so the simulation can tell): 0.6% against 3.9%
    (exact, 100,000 trials). One segment at twice the limit is caught, and named."""
    import numpy as np

    rng = np.random.default_rng(20261205)
    trials, alpha = 4000, 0.01
    naive = BY_SEGMENT.model_copy(
        update={"triggers": [BY_SEGMENT.triggers[0].model_copy(update={"alpha": alpha * 5})]}
    )  # alpha * 5 / 5 segments: each segment at alpha, no correction

    def fired(rates: dict[str, float], policy: AutomationSpec = BY_SEGMENT) -> list[list[str]]:
        found = []
        for _ in range(trials):
            counts = {v: int(rng.binomial(n, rates[v])) for v, n in SEGMENT_REVIEWS.items()}
            decisions = plan(policy, _by_segment(counts))
            found.append([s["segment"] for d in decisions for s in d.evidence["segments"]])
        return found

    null = dict.fromkeys(SEGMENT_REVIEWS, 0.1)
    family = np.mean([bool(f) for f in fired(null)])
    assert family <= alpha + 3 * (alpha * (1 - alpha) / trials) ** 0.5
    uncorrected = np.mean([bool(f) for f in fired(null, naive)])
    assert uncorrected > alpha + 3 * (alpha * (1 - alpha) / trials) ** 0.5
    # power at alpha / 5 (binomial, exact): 0.876 for 200 reviews, 0.997 for 400
    caught = fired({**null, "south": 0.2})
    assert np.mean([f == ["south"] for f in caught]) >= 0.83
    caught = fired({**null, "north": 0.2})
    assert np.mean([f == ["north"] for f in caught]) >= 0.98
