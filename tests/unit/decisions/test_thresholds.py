"""Threshold policies: ranges that tile [0, 1] exactly, clear errors otherwise, exact decisions."""

from __future__ import annotations

import numpy as np
import pytest

from keel.decisions import ThresholdPolicy, parse_range
from keel.errors import ConfigError, InvalidInput

LOAN = {"approve": "< 0.20", "review": "0.20..0.45", "decline": ">= 0.45"}


@pytest.mark.parametrize(
    ("score", "action"),
    [
        (0.0, "approve"),
        (0.1999999, "approve"),
        (0.20, "review"),
        (0.4499999, "review"),
        (0.45, "decline"),
        (1.0, "decline"),
    ],
    ids=["zero", "below-first-bound", "first-bound", "below-second", "second-bound", "one"],
)
def test_each_score_gets_the_action_of_its_range(score: float, action: str) -> None:
    policy = ThresholdPolicy.parse(LOAN)
    assert policy.decide(score) == action
    assert policy.actions[policy.indices(np.array([score]))[0]] == action


def test_order_in_the_file_does_not_matter() -> None:
    shuffled = {"decline": ">= 0.45", "approve": "< 0.20", "review": "0.20..0.45"}
    assert ThresholdPolicy.parse(shuffled).actions == ("approve", "review", "decline")


def test_closed_upper_ends_move_the_boundary_down() -> None:
    policy = ThresholdPolicy.parse({"low": "<= 0.3", "high": "> 0.3"})
    assert (policy.decide(0.3), policy.decide(np.nextafter(0.3, 1.0))) == ("low", "high")


def test_a_span_ending_at_one_takes_one() -> None:
    policy = ThresholdPolicy.parse({"low": "0..0.5", "high": "0.5..1"})
    assert policy.decide(1.0) == "high"
    assert policy.decide(0.5) == "high"


def test_scalar_and_vector_decisions_agree_on_many_scores() -> None:
    policy = ThresholdPolicy.parse({"a": "< 0.1", "b": "0.1..0.5", "c": "0.5..0.7", "d": ">= 0.7"})
    scores = np.concatenate([np.random.default_rng(0).random(5000), [0.1, 0.5, 0.7, 0.0, 1.0]])
    vector = [policy.actions[i] for i in policy.indices(scores)]
    assert vector == [policy.decide(float(s)) for s in scores]


@pytest.mark.parametrize(
    ("thresholds", "path", "words"),
    [
        (
            {"approve": "< 0.20", "review": "0.25..0.45", "decline": ">= 0.45"},
            "decisions.thresholds.review",
            "no action covers scores from 0.2 to 0.25",
        ),
        (
            {"approve": "< 0.30", "review": "0.20..0.45", "decline": ">= 0.45"},
            "decisions.thresholds.review",
            "'approve' (< 0.30) and 'review' (0.20..0.45) overlap",
        ),
        (
            {"approve": "<= 0.20", "review": "0.20..0.45", "decline": ">= 0.45"},
            "decisions.thresholds.review",
            "overlap on scores from 0.2 to 0.2",
        ),
        (
            {"approve": "< 0.20", "review": "> 0.20"},
            "decisions.thresholds.review",
            "no action covers score 0.2",
        ),
        (
            {"review": "0.20..0.45", "decline": ">= 0.45"},
            "decisions.thresholds.review",
            "no action covers scores from 0 up to 0.2",
        ),
        (
            {"approve": "< 0.20", "review": "0.20..0.45"},
            "decisions.thresholds.review",
            "no action covers scores from 0.45 up to 1",
        ),
        (
            {"approve": "< 0.20", "decline": ">= 0.1", "review": "0.3..0.4"},
            "decisions.thresholds.decline",
            "overlap",
        ),
    ],
    ids=["gap", "overlap", "shared-point", "open-point", "no-zero", "no-one", "nested"],
)
def test_bad_tilings_name_the_entry(thresholds: dict[str, str], path: str, words: str) -> None:
    with pytest.raises(ConfigError, match=r"decisions\.thresholds") as caught:
        ThresholdPolicy.parse(thresholds)
    assert caught.value.path == path
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (0.2, "a range in quotes"),
        ("about 0.2", "a range like"),
        ("< 1.5", "between 0 and 1"),
        ("0.5..0.2", "lower end is below its upper end"),
        ("< abc", "a range like"),
        ("0.2...0.4", "a range like"),
    ],
    ids=["number", "words", "above-one", "reversed", "not-a-number", "three-dots"],
)
def test_malformed_ranges_are_refused_with_their_path(text: object, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        parse_range(text, path="decisions.thresholds.review")
    assert caught.value.path == "decisions.thresholds.review"


@pytest.mark.parametrize("bad", [{}, None, ["< 0.2"]], ids=["empty", "null", "list"])
def test_thresholds_must_be_a_mapping(bad: object) -> None:
    with pytest.raises(ConfigError, match="must map each action"):
        ThresholdPolicy.parse(bad)


def test_defer_is_reserved_for_the_fallback() -> None:
    with pytest.raises(ConfigError, match="fallback chain") as caught:
        ThresholdPolicy.parse({"approve": "< 0.5", "defer": ">= 0.5"})
    assert caught.value.path == "decisions.thresholds.defer"


@pytest.mark.parametrize("score", [float("nan"), -0.01, 1.01], ids=["nan", "negative", "above"])
def test_scores_outside_zero_to_one_are_refused(score: float) -> None:
    policy = ThresholdPolicy.parse(LOAN)
    with pytest.raises(InvalidInput, match="from 0 to 1"):
        policy.decide(score)
    with pytest.raises(InvalidInput, match="from 0 to 1"):
        policy.indices(np.array([0.5, score]))
