"""An estimator parameter the model kind does not know is refused (it was ignored silently)."""

from __future__ import annotations

import pytest

from keel.errors import InvalidInput
from keel.models.factory import make_estimator


@pytest.mark.parametrize(
    ("kind", "params"),
    [("lightgbm", {"foo": "bar"}), ("lightgbm", {"num_leafs": 31}), ("logistic", {"foo": 1})],
    ids=["lightgbm-foo", "lightgbm-typo", "logistic-foo"],
)
def test_an_unknown_parameter_is_refused(kind: str, params: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as refused:
        make_estimator(kind, "binary", params, seed=1)
    assert refused.value.path == "model.params"
    assert repr(next(iter(params))) in refused.value.message


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("lightgbm", {"num_leaves": 15, "n_estimators": 5, "learning_rate": 0.1}),
        ("lightgbm", {"min_data_in_leaf": 5, "min_child_samples": 5}),  # a name and an alias
        ("logistic", {"C": 0.5, "max_iter": 50}),
    ],
    ids=["lightgbm", "lightgbm-alias", "logistic"],
)
def test_known_parameters_and_aliases_pass(kind: str, params: dict[str, object]) -> None:
    assert make_estimator(kind, "binary", params, seed=1).get_params()["seed"] == 1
