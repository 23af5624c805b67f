"""The one place that maps a model kind to its implementation.

The implementations are imported when a model is made or loaded: importing LightGBM (and with
it scikit-learn and SciPy) costs about 0.9 s, which a command that only lists models, releases or
incidents should not pay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keel.errors import InvalidInput
from keel.models.estimator import MODEL_KINDS, Estimator, Task


def make_estimator(kind: str, task: Task, params: Mapping[str, Any], *, seed: int) -> Estimator:
    """A new, unfitted estimator of ``kind``; a parameter the kind does not know is refused."""
    check_params(kind, params)
    from keel.models.boosting import LightGBMEstimator  # noqa: PLC0415 - see the module docstring
    from keel.models.linear import LinearEstimator  # noqa: PLC0415

    if kind == "lightgbm":
        return LightGBMEstimator(task=task, params=dict(params), seed=seed)
    if kind in ("logistic", "linear"):
        expected = "binary" if kind == "logistic" else "regression"
        if task != expected:
            raise InvalidInput(
                f"model.kind '{kind}' is for {expected} targets; this project's target is {task}",
                path="model.kind",
                hint=f"use '{'logistic' if task == 'binary' else 'linear'}' or 'lightgbm'",
            )
        return LinearEstimator(task=task, params=dict(params), seed=seed)
    raise InvalidInput(
        f"model.kind must be one of {', '.join(MODEL_KINDS)}; got {kind!r}", path="model.kind"
    )


def load_estimator(kind: str, task: Task, data: bytes) -> Estimator:
    """A fitted estimator from the bytes ``to_bytes`` wrote."""
    from keel.models.boosting import LightGBMEstimator  # noqa: PLC0415 - see the module docstring
    from keel.models.linear import LinearEstimator  # noqa: PLC0415

    if kind == "lightgbm":
        return LightGBMEstimator.from_bytes(data, task=task)
    if kind in ("logistic", "linear"):
        return LinearEstimator.from_bytes(data, task=task)
    raise InvalidInput(f"unknown model kind {kind!r} in a stored model", path="model.kind")


def check_params(kind: str, params: Mapping[str, Any]) -> None:
    """Refuse parameter names that ``kind`` would silently ignore (a typo trains the defaults)."""
    known = _known_params(kind)
    if known is None:
        return
    unknown = sorted(set(params) - known)
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        examples = ", ".join(sorted(known)[:8]) if len(known) <= 8 else "see its documentation"
        raise InvalidInput(
            f"unknown parameter(s) {listed} for model.kind '{kind}'",
            path="model.params",
            hint=f"use the {kind} parameter names ({examples})",
        )


def _known_params(kind: str) -> set[str] | None:
    from keel.models.boosting import DEFAULTS as BOOSTING  # noqa: PLC0415
    from keel.models.linear import DEFAULTS as LINEAR  # noqa: PLC0415

    boosting = lightgbm_param_names() | set(BOOSTING) | {"n_estimators"}
    if kind == "lightgbm":
        return boosting
    if kind in ("logistic", "linear"):
        # LightGBM's names are tolerated here: keel.yaml keeps them when kind switches to logistic
        return set(LINEAR) | boosting
    return None


def lightgbm_param_names() -> set[str]:
    """Every parameter name and alias LightGBM's core declares."""
    import lightgbm as lgb  # noqa: PLC0415

    names: set[str] = set()
    for name, aliases in lgb.basic._ConfigAliases._get_all_param_aliases().items():
        names.add(name)
        names.update(aliases)
    return names
