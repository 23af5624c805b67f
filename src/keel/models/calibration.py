"""Probability calibration on a held-out split: isotonic or sigmoid (Platt), stored as numbers.

A boosted model's scores rank well but are often not probabilities; decisions by cost need
probabilities. Isotonic keeps the ranking and fits any monotone shape (needs a few thousand rows);
sigmoid fits two numbers and suits small calibration sets.
"""

from __future__ import annotations

from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt

from keel.errors import InvalidInput
from keel.features.errors import NotFittedError

Method = Literal["isotonic", "sigmoid", "none"]
F64 = npt.NDArray[np.float64]
_EPS = 1e-6


class Calibrator:
    """Maps raw probabilities to calibrated ones; ``method='none'`` is the identity."""

    def __init__(self, *, method: Method = "isotonic") -> None:
        if method not in ("isotonic", "sigmoid", "none"):
            raise InvalidInput(
                f"model.calibration must be isotonic, sigmoid or none; got {method!r}",
                path="model.calibration",
            )
        self.method: Method = method
        self.x_: F64 | None = None
        self.y_: F64 | None = None
        self.ab_: tuple[float, float] | None = None

    def get_params(self) -> dict[str, Any]:
        return {"method": self.method}

    def fit(self, scores: F64, labels: F64) -> Self:
        # scikit-learn only fits; applying is NumPy, so serving never imports it
        from sklearn.isotonic import IsotonicRegression  # noqa: PLC0415
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

        if self.method == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels)
            self.x_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
            self.y_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
        elif self.method == "sigmoid":
            model = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(scores)[:, None], labels)
            self.ab_ = (float(model.coef_[0, 0]), float(model.intercept_[0]))
        self.fitted_ = True
        return self

    def apply(self, scores: F64) -> F64:
        if self.method == "none":
            return scores
        if self.method == "isotonic":
            if self.x_ is None or self.y_ is None:
                raise NotFittedError("Calibrator")
            return np.asarray(np.interp(scores, self.x_, self.y_), dtype=np.float64)
        if self.ab_ is None:
            raise NotFittedError("Calibrator")
        a, b = self.ab_
        return np.asarray(1.0 / (1.0 + np.exp(-(a * _logit(scores) + b))), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"method": self.method}
        if self.x_ is not None and self.y_ is not None:
            body |= {"x": self.x_.tolist(), "y": self.y_.tolist()}
        if self.ab_ is not None:
            body["ab"] = list(self.ab_)
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Self:
        calibrator = cls(method=body.get("method", "none"))
        if "x" in body:
            calibrator.x_ = np.asarray(body["x"], dtype=np.float64)
            calibrator.y_ = np.asarray(body["y"], dtype=np.float64)
        if "ab" in body:
            calibrator.ab_ = (float(body["ab"][0]), float(body["ab"][1]))
        return calibrator


def _logit(p: F64) -> F64:
    clipped = np.clip(p, _EPS, 1 - _EPS)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=np.float64)
