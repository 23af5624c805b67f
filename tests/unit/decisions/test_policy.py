"""The ``decisions:`` section: thresholds, the out-of-distribution action and the fallback chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from keel.decisions import DEFAULT_FALLBACK, DecisionPolicy
from keel.errors import ConfigError

LOAN_YAML = Path(__file__).parents[3] / "examples" / "loan" / "keel.yaml"
SECTION = {
    "thresholds": {"approve": "< 0.20", "review": "0.20..0.45", "decline": ">= 0.45"},
    "ood": "review",
    "fallback": ["previous_champion", "baseline", "defer"],
}


def test_out_of_distribution_records_get_the_named_action() -> None:
    policy = DecisionPolicy.parse(SECTION)
    assert policy.decide(0.05) == "approve"
    assert policy.decide(0.05, ood=True) == "review"
    assert policy.decide(0.9, ood=True) == "review"
    scores = np.array([0.05, 0.05, 0.9])
    assert policy.decide_many(scores, [False, True, False]) == ["approve", "review", "decline"]


def test_without_an_ood_action_flags_do_not_change_decisions() -> None:
    policy = DecisionPolicy.parse({"thresholds": SECTION["thresholds"]})
    assert policy.decide(0.05, ood=True) == "approve"
    assert policy.decide_many(np.array([0.05]), [True]) == ["approve"]


def test_an_empty_section_decides_nothing_and_keeps_the_default_chain() -> None:
    policy = DecisionPolicy.parse(None)
    assert policy.decide(0.3) is None
    assert policy.decide_many(np.array([0.3, 0.7])) == [None, None]
    assert policy.fallback == DEFAULT_FALLBACK
    assert policy.actions == ("defer",)


def test_actions_list_every_possible_decision() -> None:
    assert DecisionPolicy.parse(SECTION).actions == ("approve", "review", "decline", "defer")


def test_the_loan_example_section_is_valid() -> None:
    section = yaml.safe_load(LOAN_YAML.read_text())["decisions"]
    policy = DecisionPolicy.parse(section)
    assert policy.ood_action == "review"
    assert policy.fallback == ("previous_champion", "baseline", "defer")
    assert policy.thresholds is not None
    assert policy.thresholds.actions == ("approve", "review", "decline")


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"ood": "reveiw"}, "decisions.ood", "one of the threshold actions (approve, review"),
        ({"fallback": ["baseline", "coin_flip"]}, "decisions.fallback[1]", "must be one of"),
        ({"fallback": ["defer", "baseline"]}, "decisions.fallback[0]", "must be the last step"),
        ({"fallback": ["baseline", "baseline"]}, "decisions.fallback[1]", "appears twice"),
        ({"fallback": []}, "decisions.fallback", "must be a list"),
        ({"fallback": "defer"}, "decisions.fallback", "must be a list"),
        ({"threshold": {}}, "decisions.threshold", "not a known key"),
    ],
    ids=["ood-typo", "unknown-step", "defer-first", "repeated", "empty", "text", "unknown-key"],
)
def test_bad_sections_name_the_key(change: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        DecisionPolicy.parse({**SECTION, **change})
    assert caught.value.path == path
    assert words in caught.value.message


def test_ood_needs_thresholds() -> None:
    with pytest.raises(ConfigError, match="none"):
        DecisionPolicy.parse({"ood": "review"})


SEGMENTED = {
    **SECTION,
    "segments": {
        "column": "purpose",
        "overrides": {
            "business": {
                "thresholds": {"approve": "< 0.10", "review": "0.10..0.30", "decline": ">= 0.30"}
            },
            "car": {"thresholds": {"approve": "< 0.5", "decline": ">= 0.5"}},
        },
    },
}


def test_a_segment_override_decides_its_records_and_the_rest_keep_the_rule() -> None:
    policy = DecisionPolicy.parse(SEGMENTED)
    assert policy.segment_column == "purpose"
    assert policy.decide(0.15, segment="business") == "review"
    assert policy.decide(0.15, segment="car") == "approve"
    assert policy.decide(0.15, segment="home") == "approve"  # no override: the project-wide rule
    assert policy.decide(0.15) == "approve"
    assert policy.decide(0.40, segment="car", ood=True) == "review"  # OOD still wins
    scores = np.array([0.15, 0.15, 0.15, 0.40, 0.40, 0.35])
    segments = ["business", "car", "home", "car", None, "business"]
    ood = [False, False, False, True, False, False]
    many = policy.decide_many(scores, ood, segments=segments)
    one = [
        policy.decide(s, ood=o, segment=g) for s, o, g in zip(scores, ood, segments, strict=True)
    ]
    assert many == one == ["review", "approve", "approve", "review", "review", "decline"]


@pytest.mark.parametrize(
    ("segments", "path"),
    [
        (
            {
                "column": "purpose",
                "overrides": {"car": {"thresholds": {"yes": "< 1", "no": ">= 1"}}},
            },
            "decisions.segments.overrides.car",
        ),
        ({"column": "purpose", "overrides": {"car": {}}}, "decisions.segments.overrides.car"),
        ({"column": "purpose", "overrides": {}}, "decisions.segments.overrides"),
        ({"overrides": {"car": {"thresholds": {"approve": "< 1"}}}}, "decisions.segments.column"),
    ],
)
def test_a_bad_override_names_its_key(segments: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        DecisionPolicy.parse({**SECTION, "segments": segments})
    assert info.value.path == path, info.value.message


def test_overrides_need_a_rule_to_override() -> None:
    with pytest.raises(ConfigError) as info:
        DecisionPolicy.parse({"segments": SEGMENTED["segments"]})
    assert info.value.path == "decisions.segments"


def test_the_digest_names_what_decides_and_nothing_else() -> None:
    from keel.decisions.policy import DecisionsSpec

    base = {"thresholds": {"approve": "< 0.2", "review": "0.2..0.5", "decline": ">= 0.5"}}
    digest = DecisionsSpec.model_validate(base).digest()
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert DecisionsSpec.model_validate(dict(base)).digest() == digest  # the same policy
    moved = {"thresholds": {"approve": "< 0.25", "review": "0.25..0.5", "decline": ">= 0.5"}}
    assert DecisionsSpec.model_validate(moved).digest() != digest
    ood = {**base, "ood": "review"}
    assert DecisionsSpec.model_validate(ood).digest() != digest
    reordered = {"thresholds": {"decline": ">= 0.5", "review": "0.2..0.5", "approve": "< 0.2"}}
    assert DecisionsSpec.model_validate(reordered).digest() != digest  # order is kept: it may
    # break ties (costs.actions), so a reordered policy is another policy
    reviewed = {**base, "review": {"lease_minutes": 45}}
    assert DecisionsSpec.model_validate(reviewed).digest() == digest  # decides nothing
