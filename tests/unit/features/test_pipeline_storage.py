"""The stored form: plain JSON, versioned, reloaded to an identical transform, damage refused."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest

from keel.errors import InvalidInput
from keel.features import FeaturePipeline

Build = Callable[..., FeaturePipeline]

COLUMNS = {"x": "numeric", "n": "numeric", "flag": "numeric", "c": "categorical"}
SECTIONS: dict[str, dict[str, Any]] = {
    "lightgbm-defaults": {"model_kind": "lightgbm"},
    "lightgbm-unseen-missing-impute-none": {
        "model_kind": "lightgbm",
        "numeric": {"impute": "none", "log": ["n"]},
        "categorical": {"unseen": "missing", "min_frequency": 0.2},
    },
    "logistic-derived": {
        "model_kind": "logistic",
        "numeric": {"impute": "mean", "clip_quantiles": [0.05, 0.95], "log": ["ratio"]},
        "derived": {"ratio": "x / n"},
    },
}


@pytest.fixture
def train() -> pl.DataFrame:
    rng = np.random.default_rng(5)
    x = rng.normal(size=300)
    return pl.DataFrame(
        {
            "x": pl.Series(np.where(rng.random(300) < 0.1, np.nan, x)).fill_nan(None),
            "n": rng.integers(0, 9, 300),
            "flag": rng.random(300) < 0.3,
            "c": rng.choice(["a", "b", "c", "d"], 300, p=[0.5, 0.3, 0.15, 0.05]),
            "gap": pl.Series([None] * 300, dtype=pl.Float64),
        }
    ).with_columns(c=pl.when(pl.col("n") == 0).then(None).otherwise("c"))


def _fit(build: Build, train: pl.DataFrame, section: dict[str, Any]) -> FeaturePipeline:
    section = dict(section)
    model_kind = section.pop("model_kind")
    return build({**COLUMNS, "gap": "numeric"}, model_kind, **section).fit(train)


@pytest.mark.parametrize("section", SECTIONS.values(), ids=SECTIONS.keys())
def test_json_round_trip_gives_identical_output(
    build: Build, train: pl.DataFrame, section: dict[str, Any]
) -> None:
    pipeline = _fit(build, train, section)
    text = json.dumps(pipeline.to_dict(), allow_nan=False)  # plain JSON: no NaN or inf
    loaded = FeaturePipeline.from_dict(json.loads(text))
    later = train.with_columns(c=pl.lit("unseen")).head(50).vstack(train)
    before, after = pipeline.transform(later), loaded.transform(later)
    assert np.array_equal(before.values, after.values, equal_nan=True)
    assert (before.names, before.categorical) == (after.names, after.categorical)
    assert dict(before.source_columns) == dict(after.source_columns)
    assert loaded.to_dict() == pipeline.to_dict()
    assert loaded.get_params()["spec"] == pipeline.spec


def test_stored_form_names_format_version_and_params(build: Build, train: pl.DataFrame) -> None:
    stored = _fit(build, train, SECTIONS["lightgbm-defaults"]).to_dict()
    assert (stored["format"], stored["version"]) == ("keel.features.pipeline", 1)
    assert stored["params"]["model_kind"] == "lightgbm"
    assert stored["state"]["input_dtypes"] == {
        "x": "Float64",
        "n": "Int64",
        "flag": "Boolean",
        "c": "String",
        "gap": "Float64",
    }


Damage = Callable[[dict[str, Any]], object]
DAMAGES: dict[str, tuple[Damage, str]] = {
    "version-2": (lambda d: d.update(version=2), "pipeline.version"),
    "version-missing": (lambda d: d.pop("version"), "pipeline.version"),
    "version-true": (lambda d: d.update(version=True), "pipeline.version"),
    "version-string": (lambda d: d.update(version="1"), "pipeline.version"),
    "other-format": (lambda d: d.update(format="keel.calibrator"), "pipeline.format"),
    "unknown-key": (lambda d: d["state"].update(extra=1), "pipeline.state.extra"),
    "bad-dtype": (
        lambda d: d["state"]["input_dtypes"].update(n="Object"),
        "pipeline.state.input_dtypes.n",
    ),
    "numeric-reordered": (
        lambda d: d["state"]["numeric"].reverse(),
        "pipeline.state.numeric",
    ),
    "negative-scale": (
        lambda d: d["state"]["numeric"][0].update(scale=-1.0),
        "pipeline.state.numeric.x",
    ),
    "low-above-high": (
        lambda d: d["state"]["numeric"][0].update(low=5.0, high=1.0),
        "pipeline.state.numeric.x",
    ),
    "fill-as-text": (
        lambda d: d["state"]["numeric"][0].update(fill="0.5"),
        "pipeline.state.numeric.0.fill",
    ),
    "repeated-level": (
        lambda d: d["state"]["categorical"][0].update(levels=["a", "a"]),
        "pipeline.state.categorical.c",
    ),
    "feature-names": (
        lambda d: d["state"]["feature_names"].reverse(),
        "pipeline.state.feature_names",
    ),
    "bad-spec": (
        lambda d: d["params"]["spec"]["numeric"].update(impute="magic"),
        "features.numeric.impute",
    ),
}


@pytest.mark.parametrize(("damage", "path"), DAMAGES.values(), ids=DAMAGES.keys())
def test_damaged_or_foreign_data_is_refused(
    build: Build, train: pl.DataFrame, damage: Damage, path: str
) -> None:
    stored = copy.deepcopy(_fit(build, train, SECTIONS["lightgbm-defaults"]).to_dict())
    damage(stored)
    with pytest.raises(InvalidInput) as caught:
        FeaturePipeline.from_dict(stored)
    assert caught.value.path == path


def test_unknown_version_says_which_versions_are_read(build: Build, train: pl.DataFrame) -> None:
    stored = _fit(build, train, SECTIONS["lightgbm-defaults"]).to_dict() | {"version": 7}
    with pytest.raises(InvalidInput, match="version 7 is not supported; this Keel reads version 1"):
        FeaturePipeline.from_dict(stored)


def test_a_list_is_not_a_stored_pipeline() -> None:
    with pytest.raises(InvalidInput, match="must be a JSON object"):
        FeaturePipeline.from_dict([])  # type: ignore[arg-type]
