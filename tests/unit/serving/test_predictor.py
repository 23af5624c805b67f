"""The predictor: the batch path's scores, the policy's decisions, flags, explanations, failures."""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import orjson
import polars as pl
import pytest

from keel.data import Contract, DataSchema
from keel.decisions import DecisionPolicy
from keel.errors import ConfigError
from keel.models.bundle import ModelBundle
from keel.models.calibration import Calibrator
from keel.models.factory import make_estimator
from keel.serving.checks import InvalidRecords
from keel.serving.ood import OodFlag
from keel.serving.predictor import ModelError, Prediction, Predictor


@pytest.fixture(scope="module")
def predictor(bundle: ModelBundle, loan_schema: DataSchema, policy: DecisionPolicy) -> Predictor:
    return Predictor(bundle, schema=loan_schema, policy=policy, model="loan-default/v4")


@pytest.fixture(scope="module")
def records(serving_frame: pl.DataFrame) -> list[dict[str, Any]]:
    return serving_frame.to_dicts()


def test_scores_are_the_batch_paths_bit_for_bit(
    predictor: Predictor, bundle: ModelBundle, serving_frame: pl.DataFrame, records: list[Any]
) -> None:
    expected = bundle.score(serving_frame)  # the frame path that batch scoring and training use
    served = np.array([p.score for p in predictor.predict(records)])
    assert np.array_equal(served, expected)
    one_by_one = np.array([predictor.predict([r])[0].score for r in records[:100]])
    assert np.array_equal(one_by_one, expected[:100])


def test_each_prediction_carries_id_model_and_the_policys_decision(
    predictor: Predictor, policy: DecisionPolicy, records: list[Any]
) -> None:
    predictions = predictor.predict(records)
    assert [p.entity_id for p in predictions] == [r["application_id"] for r in records]
    assert {p.model for p in predictions} == {"loan-default/v4"}
    for p in predictions:
        assert p.decision == policy.decide(p.score, ood=bool(p.ood))
    decided = {p.decision for p in predictions}
    assert {"approve", "decline"} <= decided  # the loan thresholds split real scores


def test_one_record_and_many_decide_alike(predictor: Predictor, records: list[Any]) -> None:
    many = predictor.predict(records[:200])
    assert [predictor.predict([r])[0] for r in records[:200]] == many


def test_out_of_distribution_records_go_to_review(predictor: Predictor, records: list[Any]) -> None:
    odd = {**records[0], "income": 4_900_000.0}
    [prediction] = predictor.predict([odd])
    assert OodFlag("out_of_range", "income") in prediction.ood
    assert prediction.decision == "review"


def test_explanations_are_the_bundles_top_contributions(
    predictor: Predictor, bundle: ModelBundle, serving_frame: pl.DataFrame, records: list[Any]
) -> None:
    predictions = predictor.predict(records[:20], explain=3)
    full = bundle.explain(serving_frame.head(20))
    for row, p in enumerate(predictions):
        assert p.explanation is not None and len(p.explanation) == 3
        assert list(p.explanation) == full.top(row, 3)
        magnitudes = [abs(value) for _, value in p.explanation]
        assert magnitudes == sorted(magnitudes, reverse=True)
    assert predictor.predict(records[:1])[0].explanation is None


def test_bad_records_never_reach_the_model(predictor: Predictor, records: list[Any]) -> None:
    with pytest.raises(InvalidRecords) as caught:
        predictor.predict([records[0], {**records[1], "income": "lots"}])
    assert [p.to_dict() for p in caught.value.problems] == [
        {"path": "records[1].income", "reason": "expected number, got 'lots'"}
    ]


def test_a_model_that_raises_is_a_model_error(
    bundle: ModelBundle, loan_schema: DataSchema, policy: DecisionPolicy, records: list[Any]
) -> None:
    """A model trained on five features cannot score the pipeline's matrix: LightGBM raises."""
    narrow = make_estimator("lightgbm", "binary", {"n_estimators": 5}, seed=0)
    rng = np.random.default_rng(0)
    labels = (rng.random(200) < 0.5).astype(np.float64)
    narrow.fit(rng.random((200, 5)), labels, names=list("abcde"))
    broken = dataclasses.replace(bundle, estimator=narrow)
    predictor = Predictor(broken, schema=loan_schema, policy=policy, model="loan-default/v5")
    with pytest.raises(ModelError, match="model loan-default/v5 failed to score"):
        predictor.predict(records[:1])


def test_a_score_that_is_not_a_probability_is_a_model_error(
    bundle: ModelBundle, loan_schema: DataSchema, policy: DecisionPolicy, records: list[Any]
) -> None:
    damaged = Calibrator.from_dict({"method": "isotonic", "x": [0.0, 1.0], "y": [math.nan] * 2})
    broken = dataclasses.replace(bundle, calibrator=damaged)
    predictor = Predictor(broken, schema=loan_schema, policy=policy, model="loan-default/v6")
    with pytest.raises(ModelError, match=r"gave records\[0\] the score nan"):
        predictor.predict(records[:3])


def test_a_model_reading_undeclared_columns_is_refused_at_load(
    bundle: ModelBundle, loan_schema: DataSchema, policy: DecisionPolicy
) -> None:
    columns = {k: v for k, v in loan_schema.contract.columns.items() if k != "credit_score"}
    smaller = DataSchema(Contract(columns=columns), entity="application_id", target="defaulted")
    with pytest.raises(ConfigError, match="reads 'credit_score'"):
        Predictor(bundle, schema=smaller, policy=policy, model="loan-default/v4")


def test_thresholds_need_a_binary_model(
    bundle: ModelBundle, loan_schema: DataSchema, policy: DecisionPolicy
) -> None:
    regression = dataclasses.replace(bundle, task="regression")
    with pytest.raises(ConfigError, match="is a regression model"):
        Predictor(regression, schema=loan_schema, policy=policy, model="loan-default/v4")


def test_predictions_are_json_ready(predictor: Predictor, records: list[Any]) -> None:
    odd = {**records[0], "income": 4_900_000.0}
    body = orjson.loads(orjson.dumps([p.to_dict() for p in predictor.predict([odd], explain=2)]))
    assert body[0]["ood"] == ["out_of_range:income"]
    assert body[0]["decision"] == "review"
    assert [name for name, _ in body[0]["explanation"]] == [
        name for name, _ in predictor.predict([odd], explain=2)[0].explanation or ()
    ]


def test_threads_share_one_predictor(predictor: Predictor, records: list[Any]) -> None:
    expected = predictor.predict(records[:64])
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda r: predictor.predict([r])[0], records[:64]))
    assert results == expected
    assert all(isinstance(r, Prediction) for r in results)


def test_a_cost_policy_decides_each_record_by_its_own_amount(
    bundle: ModelBundle, loan_schema: DataSchema, records: list[Any]
) -> None:
    costs = {
        "amount": "loan_amount",
        "outcomes": {"positive": "default", "negative": "repaid"},
        "actions": {
            "approve": {"default": "0.6 * loan_amount", "repaid": 0},
            "decline": {"default": 0, "repaid": "0.1 * loan_amount"},
            "review": 500,
        },
    }
    policy = DecisionPolicy.parse({"costs": costs})
    predictor = Predictor(bundle, schema=loan_schema, policy=policy, model="loan-default/v4")
    many = predictor.predict(records[:300])
    for p, record in zip(many, records[:300], strict=True):
        assert p.decision == policy.decide(p.score, amount=record["loan_amount"])
    assert [predictor.predict([r])[0] for r in records[:50]] == many[:50]
    assert {p.decision for p in many} == {"approve", "review", "decline"}
