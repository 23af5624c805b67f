"""The estimator contract (STYLE.md habit 9) and the checks made at construction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from keel.errors import InvalidInput
from keel.features import (
    ColumnKind,
    FeaturePipeline,
    FeatureSpec,
    NotFittedError,
    transform_records,
)

Build = Callable[..., FeaturePipeline]
SMALL: dict[str, ColumnKind] = {"x": "numeric", "n": "numeric", "c": "categorical"}


def test_get_params_returns_the_constructor_arguments_unchanged() -> None:
    spec = FeatureSpec.parse({"numeric": {"impute": "mean"}})
    columns = dict(SMALL)
    pipeline = FeaturePipeline(spec=spec, columns=columns, model_kind="logistic")
    params = pipeline.get_params()
    assert params == {"spec": spec, "columns": columns, "model_kind": "logistic"}
    assert params["spec"] is spec
    assert params["columns"] is columns


def test_parameters_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        FeaturePipeline(FeatureSpec(), SMALL, "lightgbm")  # type: ignore[call-arg]


def test_fit_returns_self(build: Build, small: pl.DataFrame) -> None:
    pipeline = build()
    assert pipeline.fit(small) is pipeline
    assert pipeline.is_fitted


USES: dict[str, Callable[[FeaturePipeline, pl.DataFrame], Any]] = {
    "transform": lambda p, f: p.transform(f),
    "transform_records": lambda p, f: transform_records(p, f.to_dicts()),
    "to_dict": lambda p, f: p.to_dict(),
    "feature_names_": lambda p, f: p.feature_names_,
    "source_columns_": lambda p, f: p.source_columns_,
    "input_schema_": lambda p, f: p.input_schema_,
    "numeric_": lambda p, f: p.numeric_,
    "categorical_": lambda p, f: p.categorical_,
}


@pytest.mark.parametrize("use", USES.values(), ids=USES.keys())
def test_unfitted_use_raises_not_fitted(
    build: Build, small: pl.DataFrame, use: Callable[[FeaturePipeline, pl.DataFrame], Any]
) -> None:
    pipeline = build()
    with pytest.raises(NotFittedError, match="not fitted") as caught:
        use(pipeline, small)
    assert caught.value.hint is not None
    assert "FeaturePipeline.fit(" in caught.value.hint
    assert not pipeline.is_fitted


def test_refit_replaces_the_learned_state(build: Build, small: pl.DataFrame) -> None:
    pipeline = build(numeric={"clip_quantiles": None}).fit(small)
    pipeline.fit(small.with_columns(pl.col("x") * 10))
    assert pipeline.numeric_[0].fill == 25.0


CONSTRUCTION_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("impute-none-linear", {"model_kind": "logistic", "numeric": {"impute": "none"}}, "impute"),
    (
        "native-linear",
        {"model_kind": "linear", "categorical": {"encoding": "native"}},
        "features.categorical.encoding",
    ),
    ("unknown-model-kind", {"model_kind": "xgboost"}, "model_kind"),
    ("log-unknown", {"numeric": {"log": ["nope"]}}, "features.numeric.log"),
    ("log-categorical", {"numeric": {"log": ["c"]}}, "features.numeric.log"),
    ("derived-unknown-column", {"derived": {"r": "x / nope"}}, "features.derived.r"),
    ("derived-categorical", {"derived": {"r": "x / c"}}, "features.derived.r"),
    ("derived-constant", {"derived": {"r": "1 + 2"}}, "features.derived.r"),
    ("derived-name-taken", {"derived": {"x": "n * 2"}}, "features.derived.x"),
    ("derived-unsafe", {"derived": {"r": "__import__('os')"}}, "features.derived.r"),
    ("excluded-column", {"exclude": ["x"]}, "features.exclude"),
    ("no-columns", {"columns": {}}, "columns"),
    ("bad-kind", {"columns": {"x": "text"}}, "columns.x"),
]


@pytest.mark.parametrize(
    ("arguments", "path"),
    [(arguments, path) for _, arguments, path in CONSTRUCTION_ERRORS],
    ids=[name for name, _, _ in CONSTRUCTION_ERRORS],
)
def test_invalid_combinations_fail_at_construction(
    build: Build, arguments: dict[str, Any], path: str
) -> None:
    arguments = dict(arguments)
    columns = arguments.pop("columns", SMALL)
    model_kind = arguments.pop("model_kind", "lightgbm")
    with pytest.raises(InvalidInput) as caught:
        build(columns, model_kind, **arguments)
    assert caught.value.path is not None
    assert caught.value.path.endswith(path)


def test_fit_on_an_empty_frame_is_refused(build: Build, small: pl.DataFrame) -> None:
    with pytest.raises(InvalidInput, match="no rows"):
        build().fit(small.head(0))


def test_transform_of_an_empty_frame_has_no_rows(build: Build, small: pl.DataFrame) -> None:
    pipeline = build(SMALL, "logistic").fit(small)
    matrix = pipeline.transform(small.head(0))
    assert matrix.shape == (0, len(pipeline.feature_names_))
    assert len(pipeline.feature_names_) == 7  # x, n, x__missing, c=a, c=b, c=c, c=__other__


def test_generated_name_collision_is_refused(build: Build) -> None:
    frame = pl.DataFrame({"x": [1.0, None], "x__missing": [0.0, 1.0]})
    pipeline = build({"x": "numeric", "x__missing": "numeric"})
    with pytest.raises(InvalidInput, match="same name"):
        pipeline.fit(frame)
