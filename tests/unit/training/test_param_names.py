"""The parameter names keel.yaml is checked against are the installed LightGBM's."""

from __future__ import annotations

from keel.models.factory import lightgbm_param_names
from keel.training.param_names import LIGHTGBM_PARAMS


def test_the_listed_lightgbm_names_are_the_installed_ones() -> None:
    assert lightgbm_param_names() == set(LIGHTGBM_PARAMS), (
        "LightGBM's parameters changed: regenerate keel/training/param_names.py"
    )
