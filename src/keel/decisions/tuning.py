"""Choose score thresholds that minimise the realized cost on a labelled set, under constraints.

The cost matrix (``decisions.costs``) prices every (action, outcome); on a frozen benchmark set,
where each row's outcome is known, each candidate threshold pair ``t1 <= t2`` (low action below
``t1``, middle action from ``t1`` up to ``t2``, high action from ``t2``) has a realized mean cost
per record. The search takes every pair of cut points among up to ``CUTS`` score boundaries
(cumulative sums make each pair O(1)), keeps those that meet the constraints (a maximum share
of records sent to the middle action, a minimum share given the low action), and picks the
cheapest. Its KPI is the mean cost per record with a percentile bootstrap interval over rows.

The cost of thresholds measured on the rows that chose them is optimistic (on 2,000 simulated
loans a 95% interval computed so held the true cost only 74% of the time). So each row is
charged under thresholds tuned on the other folds (``FOLDS``-fold cross-fitting) and the KPI is
the mean of those held-out costs: an honest estimate of what the tuning gives on fresh rows
(``tests/unit/decisions/test_tuning.py`` checks its coverage on simulated data with a known
truth, the expected cost of the chosen thresholds on a large later sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from keel.decisions.costs import CostPolicy
from keel.errors import InvalidInput

F64 = npt.NDArray[np.float64]
CUTS = 300
FOLDS = 5
BOOTSTRAP = 2000


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class Tuned:
    """The chosen thresholds, their KPI, the action shares and the trade-off curve."""

    actions: tuple[str, str, str]
    """The low, middle and high action (in the order of the scores they take)."""
    low: float
    high: float
    cost: Interval
    """Mean realized cost per record, each row charged under thresholds tuned without it."""
    fit_cost: float
    """Mean realized cost per record of the chosen thresholds on the rows that chose them."""
    shares: dict[str, float]
    rows: int
    curve: list[tuple[float, float]]
    """(largest share allowed to the middle action, least mean cost under it)."""

    def thresholds(self) -> dict[str, str]:
        """The ``decisions.thresholds`` mapping of the chosen policy (empty bands left out)."""
        return band_thresholds(self.actions, self.low, self.high)

    def to_dict(self) -> dict[str, Any]:
        return {
            "thresholds": self.thresholds(),
            "cost_per_record": self.cost.to_dict(),
            "fit_cost_per_record": self.fit_cost,
            "shares": self.shares,
            "rows": self.rows,
            "curve": [{"max_share": r, "cost": c} for r, c in self.curve],
        }


def band_thresholds(actions: tuple[str, str, str], low: float, high: float) -> dict[str, str]:
    """The ``decisions.thresholds`` mapping of three bands cut at ``low`` and ``high`` (empty
    bands left out)."""
    bands = [(actions[0], 0.0, low), (actions[1], low, high), (actions[2], high, 1.0)]
    kept = [(name, lo, hi) for name, lo, hi in bands if hi > lo]
    found = {}
    for index, (name, lo, hi) in enumerate(kept):
        if index == 0 and len(kept) > 1:
            found[name] = f"< {hi:.6g}"
        elif index == len(kept) - 1:
            found[name] = f">= {lo:.6g}"
        else:
            found[name] = f"{lo:.6g}..{hi:.6g}"
    return found


def ordered_actions(costs: CostPolicy, amounts: F64 | None) -> tuple[str, str, str]:
    """Three actions from low scores to high: by the slope of their expected cost in the score
    (at the median amount); refused unless the matrix has exactly three actions."""
    if len(costs.actions) != 3:
        raise InvalidInput(
            f"tuning thresholds needs three actions (low, middle, high); decisions.costs has"
            f" {len(costs.actions)}",
            path="decisions.costs.actions",
        )
    amount = float(np.median(amounts)) if amounts is not None and amounts.size else 1.0
    cells = costs.fixed + costs.scaled * amount
    slope = cells[:, 0] - cells[:, 1]
    order = np.argsort(slope, kind="stable")  # the least slope suits the highest scores
    low, middle, high = (costs.actions[i] for i in order[::-1])
    return low, middle, high


def tune(
    costs: CostPolicy,
    scores: F64,
    positive: F64,
    amounts: F64 | None = None,
    *,
    max_middle_share: float = 1.0,
    min_low_share: float = 0.0,
    confidence: float = 0.95,
    seed: int = 0,
) -> Tuned:
    """The cheapest thresholds under the constraints (see the module docstring)."""
    actions = ordered_actions(costs, amounts)
    limits = (max_middle_share, min_low_share)
    rows = _Rows(scores, positive, amounts)
    search = _search(costs, actions, rows, limits)
    held_out = _cross_fitted(costs, actions, rows, limits, seed)
    return Tuned(
        actions=actions,
        low=search.low,
        high=search.high,
        cost=bootstrap_mean(held_out, confidence=confidence, seed=seed),
        fit_cost=search.cost,
        shares=search.shares,
        rows=scores.size,
        curve=search.curve,
    )


@dataclass(frozen=True)
class _Rows:
    scores: F64
    positive: F64
    amounts: F64 | None

    def __getitem__(self, which: npt.NDArray[Any]) -> _Rows:
        amounts = None if self.amounts is None else self.amounts[which]
        return _Rows(self.scores[which], self.positive[which], amounts)


@dataclass(frozen=True)
class _Search:
    low: float
    high: float
    shares: dict[str, float]
    curve: list[tuple[float, float]]
    cost: float


def _search(
    costs: CostPolicy, actions: tuple[str, str, str], rows: _Rows, limits: tuple[float, float]
) -> _Search:
    """The cheapest cut pair of every pair of score boundaries that meets ``limits``."""
    max_middle_share, min_low_share = limits
    ordered = rows[np.argsort(rows.scores, kind="stable")]
    s, y, a = ordered.scores, ordered.positive, ordered.amounts
    per_row = {
        name: costs.realized(np.full(s.size, costs.actions.index(name)), y, a) for name in actions
    }
    cuts = _cuts(s)
    total = _totals(per_row, actions, cuts)
    n = s.size
    low_ok = (cuts[:, None] / n >= min_low_share - 1e-12) & np.ones((1, cuts.size), dtype=bool)
    middle_share = (cuts[None, :] - cuts[:, None]) / n
    allowed = (middle_share >= 0) & (middle_share <= max_middle_share + 1e-12) & low_ok
    if not allowed.any():
        raise InvalidInput(
            "no thresholds meet the constraints on this set",
            path="constraints",
            hint="allow a larger middle share or a smaller minimum low share",
        )
    i, j = np.unravel_index(np.argmin(np.where(allowed, total, np.inf)), total.shape)
    lo_cut, hi_cut = int(cuts[i]), int(cuts[j])
    return _Search(
        low=_threshold(s, lo_cut),
        high=_threshold(s, hi_cut),
        shares={
            actions[0]: lo_cut / n,
            actions[1]: (hi_cut - lo_cut) / n,
            actions[2]: (n - hi_cut) / n,
        },
        curve=_curve(total, middle_share, low_ok, n),
        cost=float(total[i, j]) / n,
    )


def _cross_fitted(
    costs: CostPolicy,
    actions: tuple[str, str, str],
    rows: _Rows,
    limits: tuple[float, float],
    seed: int,
) -> F64:
    """Each row's realized cost under thresholds tuned without it (``FOLDS``-fold): costs that
    did not choose the thresholds they are charged under, so their mean is not optimistic."""
    fold = np.random.default_rng(seed).permutation(rows.scores.size) % FOLDS
    held_out = np.empty(rows.scores.size)
    for k in range(FOLDS):
        found = _search(costs, actions, rows[fold != k], limits)
        test = rows[fold == k]
        index = _decide(found, actions, costs, test.scores)
        held_out[fold == k] = costs.realized(index, test.positive, test.amounts)
    return held_out


def _decide(
    found: _Search, actions: tuple[str, str, str], costs: CostPolicy, scores: F64
) -> npt.NDArray[np.intp]:
    band = (scores >= found.low).astype(np.intp) + (scores >= found.high).astype(np.intp)
    band = np.where(found.low <= 0.0, np.maximum(band, 1), band)
    lookup = np.array([costs.actions.index(a) for a in actions], dtype=np.intp)
    chosen: npt.NDArray[np.intp] = lookup[np.minimum(band, 2)]
    return chosen


def _cuts(sorted_scores: F64) -> npt.NDArray[np.int64]:
    """Positions where the score changes (a threshold there splits no tie), plus both ends."""
    n = sorted_scores.size
    changes = np.flatnonzero(np.diff(sorted_scores) > 0) + 1
    if changes.size > CUTS:
        changes = changes[np.linspace(0, changes.size - 1, CUTS).round().astype(np.int64)]
    return np.unique(np.concatenate([[0], changes, [n]])).astype(np.int64)


def _totals(
    per_row: dict[str, F64], actions: tuple[str, str, str], cuts: npt.NDArray[np.int64]
) -> F64:
    """Total cost of every (low cut, high cut) pair; the pairs with high < low are not used."""
    low, middle, high = (np.concatenate([[0.0], np.cumsum(per_row[a])]) for a in actions)
    at = cuts
    total: F64 = (
        low[at][:, None]
        + (middle[at][None, :] - middle[at][:, None])
        + (high[-1] - high[at])[None, :]
    )
    return total


def _threshold(sorted_scores: F64, cut: int) -> float:
    """The score at which the band starting at position ``cut`` begins (0 or 1 at the ends)."""
    if cut <= 0:
        return 0.0
    if cut >= sorted_scores.size:
        return 1.0
    return float(sorted_scores[cut])


def _curve(
    total: F64, middle_share: F64, low_ok: npt.NDArray[np.bool_], n: int
) -> list[tuple[float, float]]:
    points = []
    for cap in np.linspace(0.0, 0.5, 26):
        allowed = (middle_share >= 0) & (middle_share <= cap + 1e-12) & low_ok
        if allowed.any():
            points.append((round(float(cap), 4), float(np.min(total[allowed])) / n))
    return points


def bootstrap_mean(values: F64, *, confidence: float = 0.95, seed: int = 0) -> Interval:
    """The mean of ``values`` with a bias-corrected and accelerated (BCa) bootstrap interval over
    rows: costs are skewed (a few large losses), and a plain percentile interval of a skewed
    mean ends too low on the side of the tail (Efron 1987; the acceleration of a mean is the
    skewness of the values over 6, its jackknife form)."""
    rng = np.random.default_rng(seed)
    n = values.size
    draws = np.empty(BOOTSTRAP)
    for start in range(0, BOOTSTRAP, 200):
        rows = rng.integers(0, n, size=(min(200, BOOTSTRAP - start), n))
        draws[start : start + rows.shape[0]] = values[rows].mean(axis=1)
    mean = float(values.mean())
    normal = NormalDist()
    below = float(np.mean(draws < mean))
    z0 = normal.inv_cdf(min(max(below, 1 / BOOTSTRAP), 1 - 1 / BOOTSTRAP))
    centred = values - mean
    spread = float(np.sum(centred**2))
    accel = float(np.sum(centred**3)) / (6 * spread**1.5) if spread > 0 else 0.0
    ends = []
    for tail in ((1 - confidence) / 2, (1 + confidence) / 2):
        z = normal.inv_cdf(tail)
        ends.append(normal.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z))))
    return Interval(
        mean, float(np.quantile(draws, ends[0])), float(np.quantile(draws, ends[1])), confidence
    )
