"""The loan example's contract and a LightGBM bundle fitted on simulated applications."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from keel.data import Contract, DataSchema
from keel.decisions import DecisionPolicy
from keel.features import FeaturePipeline, FeatureSpec, feature_columns
from keel.models.bundle import ModelBundle
from keel.models.calibration import Calibrator
from keel.models.factory import make_estimator
from keel.simulate import simulate_frame

LOAN_YAML = Path(__file__).parents[3] / "examples" / "loan" / "keel.yaml"


@pytest.fixture(scope="session")
def loan_project() -> dict[str, Any]:
    """examples/loan/keel.yaml as plain data."""
    project: dict[str, Any] = yaml.safe_load(LOAN_YAML.read_text())
    return project


@pytest.fixture(scope="session")
def loan_schema(loan_project: dict[str, Any]) -> DataSchema:
    return DataSchema(
        Contract.parse(loan_project["contract"]),
        entity="application_id",
        timestamp="applied_at",
        target="defaulted",
    )


@pytest.fixture(scope="session")
def policy(loan_project: dict[str, Any]) -> DecisionPolicy:
    return DecisionPolicy.parse(loan_project["decisions"])


@pytest.fixture(scope="session")
def training() -> pl.DataFrame:
    """12k labelled applications."""
    return simulate_frame(rows=12_000, seed=1, start=datetime(2024, 1, 1), end=datetime(2024, 3, 1))


@pytest.fixture(scope="session")
def serving_frame() -> pl.DataFrame:
    """Later applications as they arrive for scoring: no label, no timestamp."""
    later = simulate_frame(rows=600, seed=2, start=datetime(2024, 3, 1), end=datetime(2024, 3, 8))
    return later.drop("defaulted", "applied_at")


def fit_bundle(
    frame: pl.DataFrame, schema: DataSchema, features: dict[str, Any], kind: str = "lightgbm"
) -> ModelBundle:
    """Fit pipeline, estimator and calibrator the way the trainer does (calibration on 20%)."""
    spec = FeatureSpec.parse(features)
    columns = feature_columns(schema, spec)
    cut = int(frame.height * 0.8)
    train, held = frame[:cut], frame[cut:]
    pipeline = FeaturePipeline(spec=spec, columns=columns, model_kind=kind)  # type: ignore[arg-type]
    matrix = pipeline.fit_transform(train)
    labels = train["defaulted"].cast(pl.Float64).to_numpy()
    params = {"n_estimators": 60, "num_leaves": 15}
    estimator = make_estimator(kind, "binary", params, seed=3)
    estimator.fit(matrix.values, labels, names=matrix.names, categorical=matrix.categorical)
    calibrator = Calibrator(method="isotonic").fit(
        estimator.predict(pipeline.transform(held).values),
        held["defaulted"].cast(pl.Float64).to_numpy(),
    )
    return ModelBundle("binary", pipeline, estimator, calibrator, dict(columns))


@pytest.fixture(scope="session")
def bundle(
    training: pl.DataFrame, loan_schema: DataSchema, loan_project: dict[str, Any]
) -> ModelBundle:
    """LightGBM on the loan example's own features section."""
    return fit_bundle(training, loan_schema, loan_project["features"])
