"""The ``features:`` section of keel.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from keel.errors import ConfigError, InvalidInput
from keel.features import FeatureSpec


def test_empty_section_gives_safe_defaults() -> None:
    spec = FeatureSpec.parse(None)
    assert spec.numeric.impute == "median"
    assert spec.numeric.clip_quantiles == (0.001, 0.999)
    assert spec.categorical.resolve_encoding("lightgbm") == "native"
    assert spec.categorical.resolve_encoding("logistic") == "onehot"


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ({"numeric": {"impute": "magic"}}, "features.numeric.impute"),
        ({"numeric": {"clip_quantiles": [0.9, 0.1]}}, "features.numeric.clip_quantiles"),
        ({"categorical": {"min_frequency": 1.5}}, "features.categorical.min_frequency"),
        ({"categorical": {"max_levels": 0}}, "features.categorical.max_levels"),
        ({"numerics": {}}, "features.numerics"),
    ],
    ids=["impute", "clip-order", "min-frequency", "max-levels", "typo"],
)
def test_invalid_sections_name_their_path(section: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        FeatureSpec.parse(section)
    assert caught.value.path == path


def test_derived_expressions_are_checked_when_parsed() -> None:
    with pytest.raises(InvalidInput) as caught:
        FeatureSpec.parse({"derived": {"bad": "income ** 2"}})
    assert caught.value.path == "features.derived.bad"
