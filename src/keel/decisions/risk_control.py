"""A review band that keeps the error rate of automatic decisions under a declared level, with a
declared confidence: Learn then Test (Angelopoulos, Bates, Candès, Jordan, Lei 2021) on a
labelled calibration set.

The band is one of a nested family around the score ``p*`` at which the low action (approve) and
the high action (decline) cost the same in expectation. For ``lam`` from 0 to 1 the band is
``[p* (1 - lam), p* + (1 - p*) lam)``: no band at 0, every record to a person at 1. A record
below the band gets the low action, which is wrong when its outcome is positive; a record at or
above it gets the high action, wrong when the outcome is negative. The risk of ``lam`` is the
error rate among the records decided automatically.

For each ``lam`` the null hypothesis "risk > alpha" is tested with an exact binomial p-value: given
how many rows fall outside the band, their errors are a binomial count with the true risk as its
rate (rows are drawn independently), so ``P(Binomial(n, alpha) <= errors)`` is a valid p-value.
The calibration rows are split at random in two halves. The first only chooses where to start:
the band with the smallest p-value on it (a band that sends almost nothing to automatic
decisions can never be shown safe, so starting from "review everything" would stop at once).
On the second half the hypotheses are tested in a fixed sequence from that band to narrower
ones, each at level ``delta = 1 - confidence``, stopping at the first that is not rejected; the
narrowest rejected band is chosen, or every record is reviewed if none is. Fixed-sequence testing
in an order fixed before the second half is looked at controls the family-wise error rate at
``delta``, so with probability at least ``confidence`` (over the calibration set) the chosen
band's true error rate is at most ``alpha``, whatever the model and however it is calibrated.
``tests/unit/decisions/test_risk_control.py`` checks it against a simulated population whose
risk is known at every band.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import bdtr

from keel.decisions.costs import CostPolicy
from keel.decisions.tuning import band_thresholds
from keel.errors import InvalidInput

F64 = npt.NDArray[np.float64]
GRID = 201
"""Bands tried, from every record reviewed (``lam = 1``) down to none (``lam = 0``)."""


@dataclass(frozen=True)
class RiskBand:
    """The chosen band, what it guarantees and what it costs in reviews on the calibration set."""

    actions: tuple[str, str, str]
    """The low, middle (review) and high action."""
    low: float
    high: float
    max_error_rate: float
    confidence: float
    break_even: float
    """The score at which the low and the high action cost the same; the band surrounds it."""
    rows: int
    automatic: int
    """Calibration rows decided automatically by the chosen band."""
    errors: int
    """Of those, the ones decided wrongly."""
    shares: dict[str, float]
    """The share of the calibration rows each action takes."""

    @property
    def review_share(self) -> float:
        """The share of records the band sends to a person."""
        return self.shares[self.actions[1]]

    def share(self, action: str) -> float:
        return self.shares.get(action, 0.0)

    @property
    def error_rate(self) -> float:
        """The error rate of automatic decisions on the calibration rows (0 with none)."""
        return self.errors / self.automatic if self.automatic else 0.0

    def thresholds(self) -> dict[str, str]:
        """The ``decisions.thresholds`` mapping of the band (empty bands left out)."""
        return band_thresholds(self.actions, self.low, self.high)

    def to_dict(self) -> dict[str, Any]:
        return {
            "thresholds": self.thresholds(),
            "max_error_rate": self.max_error_rate,
            "confidence": self.confidence,
            "break_even": self.break_even,
            "rows": self.rows,
            "automatic": self.automatic,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "shares": self.shares,
        }


def risk_controlled_band(
    scores: F64,
    positive: F64,
    *,
    actions: tuple[str, str, str],
    break_even: float,
    max_error_rate: float,
    confidence: float,
    seed: int = 0,
) -> RiskBand:
    """The narrowest band of the family whose automatic error rate is at most
    ``max_error_rate`` with probability ``confidence`` (see the module docstring)."""
    if not 0.0 < max_error_rate < 1.0:
        raise InvalidInput(
            f"the error rate to control must be between 0 and 1; got {max_error_rate!r}",
            path="decisions.risk_control.max_error_rate",
        )
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(
            f"the confidence must be between 0 and 1; got {confidence!r}",
            path="decisions.risk_control.confidence",
        )
    if not 0.0 < break_even < 1.0:
        raise InvalidInput(
            f"the low and the high action never cost the same for a score in (0, 1)"
            f" (break-even {break_even:.4g}); a review band needs both to be chosen somewhere",
            path="decisions.costs",
        )
    delta = 1.0 - confidence
    wrong_low = positive > 0.5
    first, second = _halves(scores.size, seed)
    lams = np.linspace(1.0, 0.0, GRID)
    ordering = [
        _p_value(_count(scores[first], wrong_low[first], break_even, float(lam)), max_error_rate)
        for lam in lams
    ]
    lam = 1.0
    for candidate in lams[int(np.argmin(ordering)) :]:
        tested = _count(scores[second], wrong_low[second], break_even, float(candidate))
        if _p_value(tested, max_error_rate) > delta:
            break
        lam = float(candidate)
    chosen = _count(scores, wrong_low, break_even, lam)
    low, high = _edges(break_even, chosen.lam)
    return RiskBand(
        actions=actions,
        low=low,
        high=high,
        max_error_rate=max_error_rate,
        confidence=confidence,
        break_even=break_even,
        rows=scores.size,
        automatic=chosen.automatic,
        errors=chosen.errors,
        shares=_shares(scores, actions, low, high),
    )


@dataclass(frozen=True)
class _Band:
    lam: float
    automatic: int
    errors: int


def _shares(
    scores: F64, actions: tuple[str, str, str], low: float, high: float
) -> dict[str, float]:
    n = max(scores.size, 1)
    below, above = int(np.count_nonzero(scores < low)), int(np.count_nonzero(scores >= high))
    return {
        actions[0]: below / n,
        actions[1]: (scores.size - below - above) / n if scores.size else 1.0,
        actions[2]: above / n,
    }


def _edges(break_even: float, lam: float) -> tuple[float, float]:
    return break_even * (1.0 - lam), break_even + (1.0 - break_even) * lam


def _count(scores: F64, wrong_low: npt.NDArray[np.bool_], break_even: float, lam: float) -> _Band:
    low, high = _edges(break_even, lam)
    below, above = scores < low, scores >= high
    errors = int(np.count_nonzero(below & wrong_low) + np.count_nonzero(above & ~wrong_low))
    return _Band(lam, int(np.count_nonzero(below | above)), errors)


def _p_value(band: _Band, alpha: float) -> float:
    """``P(Binomial(automatic, alpha) <= errors)``: small when the observed errors are too few
    for a true rate above ``alpha``; 1 with no automatic decision (no evidence either way)."""
    if band.automatic == 0:
        return 1.0
    return float(bdtr(band.errors, band.automatic, alpha))


def _halves(rows: int, seed: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Two disjoint random halves: the first orders the tests, the second runs them."""
    order = np.random.default_rng(seed).permutation(rows)
    return order[: rows // 2], order[rows // 2 :]


def break_even_score(
    costs: CostPolicy, actions: tuple[str, str, str], amounts: F64 | None
) -> float:
    """The probability at which the low and the high action have the same expected cost (at
    the median amount, as ``ordered_actions`` orders them)."""
    amount = float(np.median(amounts)) if amounts is not None and amounts.size else 1.0
    cells = costs.fixed + costs.scaled * amount
    low_pos, low_neg = cells[costs.actions.index(actions[0])]
    high_pos, high_neg = cells[costs.actions.index(actions[2])]
    denominator = (low_pos - high_pos) + (high_neg - low_neg)
    return float((high_neg - low_neg) / denominator) if denominator > 0 else float("nan")
