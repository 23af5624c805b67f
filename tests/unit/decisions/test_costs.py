"""``decisions.costs``: the action of least expected cost, a derived review band, clear refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from keel.config import load_project
from keel.decisions import DecisionPolicy
from keel.errors import ConfigError

LOAN_YAML = Path(__file__).parents[3] / "examples" / "loan" / "keel.yaml"
COSTS: dict[str, Any] = {
    "amount": "loan_amount",
    "outcomes": {"positive": "default", "negative": "repaid"},
    "actions": {
        "approve": {"default": "0.6 * loan_amount", "repaid": 0},
        "decline": {"default": 0, "repaid": "0.1 * loan_amount"},
        "review": 25,
    },
}


def test_each_record_gets_its_least_expected_cost_and_the_review_band_is_derived() -> None:
    policy = DecisionPolicy.parse({"costs": COSTS, "ood": "review"})
    # amount 1000: approve costs 600p, decline 100(1 - p), review 25: review for 1/24 < p < 3/4
    assert policy.decide(0.02, amount=1000) == "approve"
    assert policy.decide(0.30, amount=1000) == "review"
    assert policy.decide(0.90, amount=1000) == "decline"
    # amount 100: declining never costs more than 10 < 25, so nothing goes to review
    assert policy.decide(0.10, amount=100) == "approve"
    assert policy.decide(0.20, amount=100) == "decline"  # 60p = 10(1 - p) at p = 1/7
    assert policy.decide(0.02, amount=1000, ood=True) == "review"
    scores = np.linspace(0, 1, 101)
    amounts = np.tile([100.0, 1000.0, 50_000.0], 34)[:101]
    many = policy.decide_many(scores, amounts=amounts)
    assert many == [policy.decide(s, amount=a) for s, a in zip(scores, amounts, strict=True)]
    # a person sees a record exactly when a review costs less than deciding it automatically
    by_hand = [
        min(0.6 * s * a, 0.1 * (1 - s) * a) > 25 for s, a in zip(scores, amounts, strict=True)
    ]
    assert [d == "review" for d in many] == by_hand and any(by_hand)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            {"actions": {"approve": {"default": 5}, "decline": 1}},
            "decisions.costs.actions.approve.repaid",
        ),
        ({"actions": {"approve": -1, "decline": 1}}, "decisions.costs.actions.approve"),
        (
            {"actions": {"approve": {"default": 1, "repaid": 0, "late": 2}, "decline": 1}},
            "decisions.costs.actions.approve.late",
        ),
        ({"actions": {"approve": "0.6 * income", "decline": 1}}, "decisions.costs.actions.approve"),
        ({"actions": {"approve": "lots", "decline": 1}}, "decisions.costs.actions.approve"),
        ({"actions": {"approve": 1}}, "decisions.costs.actions"),
    ],
    ids=["missing-pair", "negative", "unknown-outcome", "other-column", "not-a-cost", "one-action"],
)
def test_a_bad_cost_matrix_names_its_key_path(change: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        DecisionPolicy.parse({"costs": {**COSTS, **change}})
    assert info.value.path == path, info.value.message


def test_with_thresholds_the_costs_only_price_and_must_price_every_threshold_action() -> None:
    both = {"costs": COSTS, "thresholds": {"approve": "< 0.5", "decline": ">= 0.5"}}
    policy = DecisionPolicy.parse(both)
    assert policy.decide(0.3, amount=1000) == "approve" and policy.amount_column is None
    unpriced = {**both, "thresholds": {"approve": "< 0.5", "refer": ">= 0.5"}}
    with pytest.raises(ConfigError, match="does not price") as info:
        DecisionPolicy.parse(unpriced)
    assert info.value.path == "decisions.thresholds.refer"
    with pytest.raises(ConfigError) as ood:
        DecisionPolicy.parse({"costs": COSTS, "ood": "escalate"})
    assert ood.value.path == "decisions.ood"


@pytest.mark.parametrize(
    "amount", ["salary", "purpose", "credit_score"], ids=["absent", "category", "nullable"]
)
def test_the_amount_column_must_be_a_required_number_of_the_contract(
    tmp_path: Path, amount: str
) -> None:
    config = yaml.safe_load(LOAN_YAML.read_text())
    actions = {"approve": {"default": f"0.6 * {amount}", "repaid": 0}, "decline": 1}
    config["decisions"] = {"costs": {**COSTS, "amount": amount, "actions": actions}}
    (tmp_path / "keel.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path / "keel.yaml")
    assert info.value.path == "decisions.costs.amount", info.value.message


def test_the_segment_column_must_be_a_contract_column(tmp_path: Path) -> None:
    config = yaml.safe_load(LOAN_YAML.read_text())
    config["decisions"]["segments"] = {
        "column": "branch",
        "overrides": {"north": {"thresholds": {"approve": "< 0.1", "decline": ">= 0.1"}}},
    }
    config["decisions"]["thresholds"] = {"approve": "< 0.2", "decline": ">= 0.2"}
    config["decisions"]["ood"] = "decline"
    (tmp_path / "keel.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path / "keel.yaml")
    assert info.value.path == "decisions.segments.column", info.value.message
    assert "branch" in info.value.message
    config["decisions"]["segments"]["column"] = "region"
    (tmp_path / "keel.yaml").write_text(yaml.safe_dump(config))
    assert load_project(tmp_path / "keel.yaml").decisions.policy().segment_column == "region"
