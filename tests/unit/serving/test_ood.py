"""Out-of-distribution flags: outside the training range, unseen levels, too many gaps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import pytest

from keel.errors import InvalidInput
from keel.models.bundle import ModelBundle
from keel.serving.ood import OodDetector, OodFlag, OodLimits
from keel.simulate import simulate_frame


@pytest.fixture(scope="module")
def detector(bundle: ModelBundle) -> OodDetector:
    return OodDetector(bundle.pipeline)


@pytest.fixture(scope="module")
def typical(serving_frame: pl.DataFrame, detector: OodDetector) -> dict[str, Any]:
    """A serving record with no flag."""
    for record in serving_frame.to_dicts():
        if detector.flag_records([record]) == [()]:
            return record
    raise AssertionError("no unflagged record in the serving frame")


def test_a_typical_record_has_no_flags(detector: OodDetector, typical: dict[str, Any]) -> None:
    assert detector.flag_records([typical]) == [()]


def test_a_value_far_outside_the_training_range_is_flagged(
    detector: OodDetector, typical: dict[str, Any]
) -> None:
    rich, poor = {**typical, "income": 4_000_000.0}, {**typical, "income": 10.0}
    assert detector.flag_records([rich]) == [(OodFlag("out_of_range", "income"),)]
    cheap = {**typical, "interest_rate": -5.0}
    assert detector.flag_records([cheap]) == [(OodFlag("out_of_range", "interest_rate"),)]
    flags = detector.flag_records([poor])[0]  # derived features see what income alone does not
    assert OodFlag("out_of_range", "loan_to_income") in flags
    assert OodFlag("out_of_range", "debt_ratio") in flags or typical["debt"] == 0.0


def test_just_past_the_clip_bound_is_within_the_margin(
    bundle: ModelBundle, detector: OodDetector, typical: dict[str, Any]
) -> None:
    state = next(s for s in bundle.pipeline.numeric_ if s.name == "income")
    near = {**typical, "income": state.high + 0.2 * (state.high - state.low)}
    far = {**typical, "income": state.high + 0.3 * (state.high - state.low)}
    near_flags, far_flags = detector.flag_records([near, far])
    assert OodFlag("out_of_range", "income") not in near_flags
    assert OodFlag("out_of_range", "income") in far_flags


def test_a_level_not_learned_is_flagged(detector: OodDetector, typical: dict[str, Any]) -> None:
    assert detector.flag_records([{**typical, "channel": "carrier-pigeon"}]) == [
        (OodFlag("unseen_category", "channel"),)
    ]


def test_too_many_missing_values_are_flagged(
    detector: OodDetector, typical: dict[str, Any]
) -> None:
    gaps = ("employment_years", "credit_score", "region")
    three = {**typical, **dict.fromkeys(gaps, None)}
    four = {**three, "debt": None}
    assert detector.flag_records([three]) == [()]  # 3 of 14 inputs: within 25%
    assert OodFlag("too_many_missing") in detector.flag_records([four])[0]
    assert str(OodFlag("too_many_missing")) == "too_many_missing"
    assert str(OodFlag("unseen_category", "region")) == "unseen_category:region"


def test_flags_are_per_record(detector: OodDetector, typical: dict[str, Any]) -> None:
    odd = {**typical, "channel": "fax"}
    flags = detector.flag_records([typical, odd, typical])
    assert [bool(f) for f in flags] == [False, True, False]


def test_a_batch_flags_each_record_as_it_would_alone(
    detector: OodDetector, serving_frame: pl.DataFrame
) -> None:
    records = serving_frame.head(300).to_dicts()
    for i in range(0, 300, 7):
        records[i] = {**records[i], "income": 4_000_000.0 if i % 2 else 10.0}
    for i in range(3, 300, 11):
        records[i] = {**records[i], **dict.fromkeys(("debt", "age", "region", "housing"), None)}
    for i in range(5, 300, 13):
        records[i] = {**records[i], "channel": "fax"}
    for i in range(2, 300, 17):
        records[i] = {**records[i], "interest_rate": -5.0}  # below the range
    batch = detector.flag_records(records)
    assert batch == [detector.flag_records([record])[0] for record in records]
    assert sum(map(bool, batch)) >= 300 // 7 + 300 // 11 + 300 // 13 + 300 // 17 - 12


def test_data_like_the_training_data_is_rarely_flagged(bundle: ModelBundle) -> None:
    """Fresh applications from the training distribution: well under 1% flagged (0.2% measured
    at 50k rows), and a margin of 0 flags more."""
    fresh = simulate_frame(rows=5000, seed=11, start=datetime(2024, 4, 1), end=datetime(2024, 5, 1))
    records = fresh.drop("defaulted", "applied_at").to_dicts()
    default = OodDetector(bundle.pipeline).flag_records(records)
    strict = OodDetector(bundle.pipeline, OodLimits(margin=0.0)).flag_records(records)
    rate = sum(map(bool, default)) / len(records)
    assert rate < 0.01
    assert sum(map(bool, strict)) > sum(map(bool, default))


@pytest.mark.parametrize(
    "limits", [{"margin": -0.1}, {"max_missing": 1.5}, {"margin": float("nan")}], ids=str
)
def test_limits_are_checked(limits: dict[str, float]) -> None:
    with pytest.raises(InvalidInput, match="OOD limits"):
        OodLimits(**limits)
