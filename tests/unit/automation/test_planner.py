"""The planner: triggers matched against observations, keys that make a trigger act once."""

from __future__ import annotations

from datetime import UTC, datetime

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
