"""Registration checks the compiled back end on the frozen benchmark rows; serving follows it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from tests.contract.conftest import ingest_simulated, loan_project

from keel.app import registry as use
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.models.boosting import LightGBMEstimator
from keel.models.compiled import CompiledLightGBM
from keel.registry.compiled import SWITCH_ENV
from keel.training.service import TrainRequest
from keel.wiring import Keel

SMALL = {"n_estimators": 40, "num_leaves": 15}
OPERATOR = Actor("olga", Role.OPERATOR, "api-key")


@pytest.fixture
def keel(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Keel]:
    monkeypatch.setenv(SWITCH_ENV, "on")
    monkeypatch.setenv("KEEL_COMPILED_CACHE", str(tmp_path / "cache"))
    opened = loan_project(tmp_path / "proj", sqlite_url)
    ingest_simulated(opened, 4000, datetime(2024, 1, 1), datetime(2024, 4, 1))
    yield opened
    opened.close()


def test_an_equivalent_version_serves_compiled(keel: Keel, tmp_path: Path) -> None:
    run = keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    registered = use.register(keel, run.id)
    verdict = registered.inference
    assert verdict is not None and verdict.passed, verdict
    assert verdict.backend == "lleaves" and verdict.rows > 0 and verdict.decisions_differ == 0
    assert registered.to_dict()["inference"]["passed"] is True
    shown = use.show_model(keel, registered.model.version)
    assert shown.inference == verdict
    registry = keel.registry()
    served = registry.serving_bundle(registered.model.version)
    assert isinstance(served.estimator, CompiledLightGBM)
    assert list((tmp_path / "cache").glob("*.o"))  # native code only in the local cache
    native = registry.bundle(registered.model.version)
    matrix = np.random.default_rng(0).normal(size=(50, len(native.pipeline.feature_names_)))
    np.testing.assert_allclose(
        served.estimator.predict(matrix), native.estimator.predict(matrix), rtol=0, atol=1e-9
    )


def test_switched_off_registers_and_serves_natively(
    keel: Keel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SWITCH_ENV, "off")
    run = keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    registered = use.register(keel, run.id)
    assert registered.inference is None
    assert "inference" not in registered.model.artifacts
    served = keel.registry().serving_bundle(registered.model.version)
    assert isinstance(served.estimator, LightGBMEstimator)


def test_a_cost_policy_with_an_amount_is_decided_on_the_benchmark_rows(keel: Keel) -> None:
    """The equivalence check decides each frozen row with the amount the cost policy reads."""
    costs = {
        "amount": "loan_amount",
        "outcomes": {"positive": "default", "negative": "repaid"},
        "actions": {
            "approve": {"default": "0.6 * loan_amount", "repaid": 0},
            "review": 400,
            "decline": {"default": 0, "repaid": "0.1 * loan_amount"},
        },
    }
    section = keel.project.decisions.model_validate({"costs": costs, "ood": "review"})
    keel.project = keel.project.model_copy(update={"decisions": section})
    run = keel.trainer().train(TrainRequest(actor="tester", params=SMALL))
    registered = use.register(keel, run.id)
    verdict = registered.inference
    assert verdict is not None and verdict.passed, verdict
    assert verdict.decisions_differ == 0 and verdict.rows > 0
