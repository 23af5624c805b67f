"""Whether a compiled model answers as its native one: the verdict and the comparison.

Kept apart from the compiler so that reading a stored verdict imports no model library.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from keel.models.estimator import F64

COMPILER = "lleaves"
TOLERANCE = 1e-9
"""Largest absolute difference allowed between a compiled and a native score (probability or
value). lleaves compares in float64 like LightGBM; measured differences are below 1e-15."""

Decide = Callable[[F64], Sequence[str | None]]


@dataclass(frozen=True)
class Equivalence:
    """The verdict of comparing a compiled model with its native one on the same rows."""

    backend: str
    passed: bool
    rows: int
    max_abs_diff: float | None
    tolerance: float
    decisions_differ: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "passed": self.passed,
            "rows": self.rows,
            "max_abs_diff": self.max_abs_diff,
            "tolerance": self.tolerance,
            "decisions_differ": self.decisions_differ,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Equivalence:
        return cls(
            backend=str(data["backend"]),
            passed=bool(data["passed"]),
            rows=int(data["rows"]),
            max_abs_diff=None if data["max_abs_diff"] is None else float(data["max_abs_diff"]),
            tolerance=float(data["tolerance"]),
            decisions_differ=int(data["decisions_differ"]),
            reason=str(data["reason"]),
        )

    @classmethod
    def native(cls, reason: str) -> Equivalence:
        """No compiled model was checked: the version serves natively, for ``reason``."""
        return cls("native", False, 0, None, TOLERANCE, 0, reason)


def check_equivalence(
    native: F64, compiled: F64, decide: Decide, *, tolerance: float = TOLERANCE
) -> Equivalence:
    """Compare the scores of the same rows: within ``tolerance`` and every decision identical."""
    rows = int(native.shape[0])
    if rows == 0:
        return Equivalence(COMPILER, False, 0, None, tolerance, 0, "no benchmark rows to compare")
    if compiled.shape != native.shape:
        return Equivalence(
            COMPILER, False, rows, None, tolerance, 0, "compiled model gave a different shape"
        )
    finite = np.isfinite(native) & np.isfinite(compiled)
    same_missing = bool(np.array_equal(np.isnan(native), np.isnan(compiled)))
    diff = float(np.max(np.abs(native[finite] - compiled[finite]), initial=0.0))
    differ = sum(a != b for a, b in zip(decide(native), decide(compiled), strict=True))
    problems = []
    if not same_missing:
        problems.append("missing scores differ")
    if diff > tolerance:
        problems.append(f"scores differ by up to {diff:.3g} (tolerance {tolerance:g})")
    if differ:
        problems.append(f"{differ} of {rows} decisions differ")
    reason = "; ".join(problems) or f"{rows} benchmark rows: scores and decisions match"
    return Equivalence(COMPILER, not problems, rows, diff, tolerance, differ, reason)
