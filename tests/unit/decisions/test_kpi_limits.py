"""Limits on decision KPIs: a chunk breaches only when the KPI's interval lies beyond the limit,
so false alarms at the limit stay under the stated rate (checked by simulation)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from keel.decisions.costs import CostsSpec
from keel.decisions.kpi_limits import DecisionKpiCheck, KpiLimitsSpec
from keel.decisions.policy import DecisionPolicy
from keel.errors import ConfigError
from keel.monitoring.monitor import Chunk

T = datetime(2024, 5, 1, tzinfo=UTC)
COSTS = CostsSpec.model_validate(
    {
        "outcomes": {"positive": "default", "negative": "repaid"},
        "actions": {
            "approve": {"default": 1000, "repaid": 0},
            "review": 50,
            "decline": {"default": 0, "repaid": 200},
        },
    }
).policy()


def _chunk(rng: np.random.Generator, rows: int, review_share: float) -> Chunk:
    decision = np.where(rng.random(rows) < review_share, "review", "approve")
    frame = pl.DataFrame(
        {
            "prediction_id": [f"p-{i}" for i in range(rows)],
            "score": rng.uniform(0.0, 0.2, rows),
            "decision": decision,
            "label": pl.Series([None] * rows, dtype=pl.Float64),
        }
    )
    return Chunk("c", T, T, frame)


def _check(limits: dict[str, object]) -> DecisionKpiCheck:
    return DecisionKpiCheck(
        costs=COSTS,
        review_action="review",
        overridden={},
        limits=KpiLimitsSpec.model_validate(limits),
    )


def test_at_the_limit_a_chunk_alarms_at_most_at_the_stated_rate() -> None:
    """The review rate is exactly the limit in 1,000 chunks of 400 rows: the 95% interval lies
    wholly above it in at most 2.5% of them (the bar 4% fails with probability about 0.1% for
    a check that keeps its promise)."""
    rng = np.random.default_rng(11)
    check = _check({"review_rate": {"max": 0.25}})
    alarms = sum(bool(check.check(_chunk(rng, 400, 0.25))[1]) for _ in range(1000))
    assert alarms <= 40


def test_a_rate_well_beyond_the_limit_is_caught_and_says_so() -> None:
    rng = np.random.default_rng(12)
    check = _check({"review_rate": {"max": 0.25}, "shares": {"approve": {"min": 0.75}}})
    caught = 0
    for _ in range(100):
        results, breaches = check.check(_chunk(rng, 400, 0.35))
        caught += any(b.check == "review_rate" for b in breaches)
    assert caught >= 95
    assert {b.check for b in breaches} == {"review_rate", "shares.approve"}
    breach = next(b for b in breaches if b.check == "review_rate")
    assert breach.category == "decisions" and breach.threshold == 0.25
    assert "above the limit 25.0%" in breach.message
    assert results["intervals"]["review_rate"]["n"] == 400
    assert results["review_rate"] == pytest.approx(results["intervals"]["review_rate"]["value"])


def test_the_expected_cost_limit_uses_the_mean_and_its_interval() -> None:
    rng = np.random.default_rng(13)
    chunk = _chunk(rng, 2000, 0.0)
    results, _ = _check({}).check(chunk)
    mean = results["expected_cost"]  # scores ~ U(0, 0.2), approve: 1000 p, about 100
    assert 90 < mean < 110
    assert _check({"expected_cost": {"max": mean * 0.8}}).check(chunk)[1]
    assert not _check({"expected_cost": {"max": mean * 1.1}}).check(chunk)[1]
    assert not _check({"expected_cost": {"max": mean * 0.8}}).check(_chunk(rng, 1, 0.0))[1]


@pytest.mark.parametrize(
    ("limits", "path"),
    [
        ({"shares": {"refer": {"max": 0.1}}}, "decisions.kpi_limits.shares.refer"),
        ({"review_rate": {"min": 0.5, "max": 0.1}}, "decisions.kpi_limits.review_rate.min"),
        ({"review_rate": {}}, "decisions.kpi_limits.review_rate"),
        ({"confidence": 1.0}, "decisions.kpi_limits.confidence"),
    ],
)
def test_bad_limits_name_their_key(limits: dict[str, object], path: str) -> None:
    section = {
        "thresholds": {"approve": "< 0.2", "review": "0.2..0.5", "decline": ">= 0.5"},
        "kpi_limits": limits,
    }
    with pytest.raises(ConfigError) as info:
        DecisionPolicy.parse(section)
    assert info.value.path == path, info.value.message
