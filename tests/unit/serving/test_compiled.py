"""The compiled back end (lleaves) against LightGBM's own predictor on a real trained model."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from keel.data import DataSchema
from keel.decisions import DecisionPolicy
from keel.models.boosting import LightGBMEstimator
from keel.models.bundle import ModelBundle
from keel.models.compiled import CompiledLightGBM, compile_lightgbm, compiled_bundle
from keel.models.equivalence import TOLERANCE, check_equivalence
from keel.registry import compiled as backend
from keel.serving.predictor import Predictor

SHA = "0" * 64


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compiled")


@pytest.fixture(scope="module")
def fast(bundle: ModelBundle, cache: Path) -> ModelBundle:
    built = compiled_bundle(bundle, SHA, cache_dir=cache)
    assert built is not None
    return built


def _perturbed(bundle: ModelBundle, cache: Path) -> ModelBundle:
    """The same model but one leaf of the first tree moved by 0.5 in log-odds."""
    native = bundle.estimator
    assert isinstance(native, LightGBMEstimator)
    text = native.to_bytes().decode()
    line = re.search(r"^leaf_value=(\S+)", text, flags=re.MULTILINE)
    assert line is not None
    moved = text.replace(line.group(0), f"leaf_value={float(line.group(1)) + 0.5!r}", 1)
    wrong = compile_lightgbm(
        LightGBMEstimator.from_bytes(moved.encode(), task="binary"), "1" * 64, cache_dir=cache
    )
    return replace(bundle, estimator=CompiledLightGBM(native, wrong._compiled))


def test_a_compiled_model_is_equivalent_to_lightgbm(
    bundle: ModelBundle, fast: ModelBundle, serving_frame: pl.DataFrame, policy: DecisionPolicy
) -> None:
    native, compiled = bundle.score(serving_frame), fast.score(serving_frame)
    verdict = check_equivalence(native, compiled, policy.decide_many)
    assert verdict.passed, verdict.reason
    assert verdict.rows == serving_frame.height
    assert verdict.max_abs_diff is not None and verdict.max_abs_diff <= TOLERANCE
    assert verdict.decisions_differ == 0
    assert isinstance(fast.estimator, CompiledLightGBM)
    np.testing.assert_array_equal(  # explanations still come from LightGBM itself
        fast.explain(serving_frame[:5]).values, bundle.explain(serving_frame[:5]).values
    )


def test_a_perturbed_compiled_model_fails_the_check(
    bundle: ModelBundle,
    serving_frame: pl.DataFrame,
    policy: DecisionPolicy,
    tmp_path: Path,
) -> None:
    wrong = _perturbed(bundle, tmp_path)
    native = bundle.score(serving_frame)
    verdict = check_equivalence(native, wrong.score(serving_frame), policy.decide_many)
    assert not verdict.passed
    assert verdict.max_abs_diff is not None and verdict.max_abs_diff > TOLERANCE
    assert "scores differ by up to" in verdict.reason


def test_one_changed_decision_fails_even_within_tolerance() -> None:
    native, compiled = np.array([0.1, 0.5, 0.9]), np.array([0.1, 0.5, 0.9])
    verdict = check_equivalence(
        native, compiled, lambda s: ["a", "b", "c"] if s is native else ["a", "b", "x"]
    )
    assert not verdict.passed
    assert verdict.decisions_differ == 1
    assert verdict.reason == "1 of 3 decisions differ"


def test_serving_compiled_gives_the_native_decisions(
    bundle: ModelBundle,
    fast: ModelBundle,
    loan_schema: DataSchema,
    policy: DecisionPolicy,
    serving_frame: pl.DataFrame,
) -> None:
    records = serving_frame.to_dicts()
    native = Predictor(bundle, schema=loan_schema, policy=policy, model="loan/v1")
    compiled = Predictor(fast, schema=loan_schema, policy=policy, model="loan/v1")
    expected, served = native.predict(records), compiled.predict(records)
    assert [p.decision for p in served] == [p.decision for p in expected]
    np.testing.assert_allclose(
        [p.score for p in served], [p.score for p in expected], rtol=0, atol=TOLERANCE
    )
    for record, want in zip(records[:50], expected, strict=False):
        assert compiled.predict([record])[0].decision == want.decision  # the one-row path too


def test_a_version_that_failed_serves_natively(
    bundle: ModelBundle, serving_frame: pl.DataFrame, tmp_path: Path
) -> None:
    failed = backend.Equivalence.native("no frozen benchmark rows to check a compiled model on")
    served, name = backend.serving_bundle(bundle, SHA, failed, cache_dir=tmp_path)
    assert name == "native"
    assert served.estimator is bundle.estimator
    assert backend.serving_bundle(bundle, SHA, None, cache_dir=tmp_path)[0] is bundle


def test_the_compiled_object_is_cached_locally(
    bundle: ModelBundle, fast: ModelBundle, cache: Path, serving_frame: pl.DataFrame
) -> None:
    objects = list(cache.glob("*.o"))
    assert len(objects) == 1  # keyed by model sha256 + compiler versions + CPU
    again = compiled_bundle(bundle, SHA, cache_dir=cache)  # loads the object, no compile
    assert list(cache.glob("*.o")) == objects
    assert again is not None
    np.testing.assert_array_equal(again.score(serving_frame), fast.score(serving_frame))


def test_a_compiled_model_pickles_as_its_native_model_and_compiles_again(
    fast: ModelBundle,
    serving_frame: pl.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a cluster task receives: the bundle, compiled again in the process that unpickles
    it (from that machine's cache), scoring exactly as the sender's."""
    from ray import cloudpickle  # how Ray sends a task's arguments (it pickles closures)

    monkeypatch.setenv(backend_cache_env(), str(tmp_path))
    copy = cloudpickle.loads(cloudpickle.dumps(fast))
    assert isinstance(copy.estimator, CompiledLightGBM)
    assert copy.estimator.sha256 == SHA
    assert len(list(tmp_path.glob("*.o"))) == 1
    np.testing.assert_array_equal(copy.score(serving_frame), fast.score(serving_frame))


def backend_cache_env() -> str:
    from keel.models.compiled import CACHE_ENV

    return CACHE_ENV
