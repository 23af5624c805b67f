"""Canary analysis: is the canary worse than the champion, judged on the same windows, with a
test that may be looked at after every chunk without inflating its error rate.

Each metric is a *harm* ``delta`` (positive = worse: canary minus champion, champion minus
canary for ROC AUC) with a tolerance:

=============  ==========================================================  ========  =========
metric         per request                                                 fails if  passes if
=============  ==========================================================  ========  =========
error_rate     no usable score (1) or a score (0)                          lo > m    hi < m
fallback_rate  a fallback answered (1) or the model did (0)                lo > m    hi < m
latency_p99    slower than the champion's p99 + m ms (1) or not (0)        lo > 0    hi < 1/200
score_shift    the score (two-sided: a shift either way is harm)           |CS| > m  CS in ±m
flip_rate      the canary's decision differs from the champion's on the    lo > m    hi < m
               same record (shadow pairs; one sample, no champion arm)
estimated_     champion minus canary ROC AUC expected from each arm's      lo > m    hi < m
roc_auc        calibrated probabilities (CBPE), no label needed
realized_      champion minus canary ROC AUC on the requests whose         lo > m    hi < m
roc_auc        outcomes have arrived (joined on prediction id)
=============  ==========================================================  ========  =========

The two ROC AUC metrics are not means of per-request values: their ``se^2`` is the sum of
each arm's variance of its AUC (the arms answer different requests, independently):

* **realized**: DeLong's variance from both classes' structural components (DeLong, DeLong
  and Clarke-Pearson, 1988; ``keel.evaluation.delong``) on the labelled requests;
* **estimated**: CBPE's expected AUC ``sum_{i != j} p_i (1 - p_j) [s_i > s_j] / sum_{i != j}
  p_i (1 - p_j)`` is a ratio of two U-statistics over the arm's requests, so its variance is
  that of its first-order (Hoeffding) projection: each request's influence
  ``2 ((h_N(i) - N) - AUC (h_D(i) - D)) / D``, ``var / n``. It measures how the estimate moves
  with the requests an arm happened to get (the CBPE estimand needs no label, so there is no
  label noise to add); ``tests/unit/automation/test_canary_auc.py`` checks it against the
  spread of the estimate over repeated samples.

Each metric may set ``min_sample``: below that many requests in either arm (labelled requests
for ``realized_roc_auc``, at least two of each class too) the metric *holds*: it neither passes
nor fails, as the variance of an AUC on a handful of rows cannot be trusted. The AUC metrics
hold below 400 (estimated) and 200 (realized) unless the policy says otherwise.

``[lo, hi]`` is a confidence *sequence* for ``delta``: with probability at least ``1 - a`` it
holds the true ``delta`` at every look at once (Robbins' normal mixture, in the asymptotic form
of Waudby-Smith et al., "Time-uniform central limit theory", 2023)::

    half-width = sqrt((V + r) * (log((V + r) / r) + 2 log(1 / a))) / V

taken at ``a / 2`` for two mixing precisions, ``r`` and ``r / 100``, keeping the narrower
(the intersection of two sequences each covering with ``1 - a / 2``),

with ``V = 1 / se^2`` the information of the estimate so far and ``r = 1 / m^2`` the mixing
precision, fixed by the policy before any data (chosen on simulations: it resolves effects
near twice the margin early).
A rollback needs a *critical* metric to fail, and each critical metric gets ``a = alpha / k``
(``k`` critical metrics), so a canary no worse than the champion on every metric is rolled back
with probability at most ``alpha`` (the policy's ``false_rollback_rate``) however often it is
looked at; ``tests/unit/automation/test_canary_statistics.py`` checks this on simulated A/A
canaries. Below ``min_requests`` canary requests the verdict is *hold*, never pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from keel.automation.policy import AUC_METRICS, CanaryMetric, CanaryPolicy
from keel.evaluation.delong import share_below
from keel.monitoring.performance.estimated import expected_auc

F64 = npt.NDArray[np.float64]
LATENCY_PASS = 1 / 200  # latency_p99 passes when the excess of slow requests is below 0.5 pt


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    HOLD = "hold"
    FAIL = "fail"


@dataclass(frozen=True)
class Arm:
    """The requests one model answered in the compared windows."""

    errors: F64  # 1 where no usable score came back
    fallbacks: F64  # 1 where a fallback answered
    latency_ms: F64
    scores: F64  # finite scores only
    probabilities: F64 = field(default_factory=lambda: np.empty(0))
    """The calibrated probability of each finite score (CBPE reads them), NaN where the arm's
    model did not give the score (a fallback did); empty when unknown."""
    labels: F64 = field(default_factory=lambda: np.empty(0))
    """The outcome (0 or 1) of each finite score, NaN until it arrives (and where the arm's
    model did not give the score); empty when unknown."""

    @property
    def n(self) -> int:
        return int(self.errors.size)

    @classmethod
    def of(
        cls,
        errors: npt.ArrayLike,
        fallbacks: npt.ArrayLike,
        latency_ms: npt.ArrayLike,
        scores: npt.ArrayLike,
        *,
        probabilities: npt.ArrayLike | None = None,
        labels: npt.ArrayLike | None = None,
    ) -> Arm:
        """One arm; ``probabilities`` and ``labels``, when given, have one entry per score
        (kept where the score is finite)."""
        score = np.asarray(scores, dtype=np.float64)
        finite = np.isfinite(score)

        def kept(values: npt.ArrayLike | None) -> F64:
            if values is None:
                return np.empty(0)
            return np.asarray(values, dtype=np.float64)[finite]

        return cls(
            errors=np.asarray(errors, dtype=np.float64),
            fallbacks=np.asarray(fallbacks, dtype=np.float64),
            latency_ms=np.asarray(latency_ms, dtype=np.float64),
            scores=score[finite],
            probabilities=kept(probabilities),
            labels=kept(labels),
        )


@dataclass(frozen=True)
class MetricVerdict:
    """One metric's evidence: sample sizes, the estimate, its interval, the thresholds."""

    name: str
    critical: bool
    n_canary: int
    n_champion: int
    estimate: float
    low: float
    high: float
    fail_above: float
    pass_below: float
    alpha: float
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.name,
            "critical": self.critical,
            "n_canary": self.n_canary,
            "n_champion": self.n_champion,
            "estimate": _round(self.estimate),
            "interval": [_round(self.low), _round(self.high)],
            "fail_above": self.fail_above,
            "pass_below": self.pass_below,
            "alpha": self.alpha,
            "verdict": self.verdict.value,
        }


@dataclass(frozen=True)
class Analysis:
    """The verdict of one look at a canary, and each metric's evidence."""

    verdict: Verdict
    reason: str
    metrics: tuple[MetricVerdict, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "reason": self.reason,
            "metrics": [m.to_dict() for m in self.metrics],
        }


def _round(value: float) -> float | None:
    return round(value, 6) if math.isfinite(value) else None


def half_width(information: float, alpha: float, r: float) -> float:
    """The confidence-sequence half-width at information ``V`` (module docstring): the
    narrower of two normal-mixture boundaries, each at ``alpha / 2``, one tuned for effects
    near the margin (``r``), one for effects ten times larger (``r / 100``) so that a broken
    canary fails within its first requests. Their intersection covers with ``1 - alpha``."""
    return min(_mixture(information, alpha / 2, r), _mixture(information, alpha / 2, r / 100))


def _mixture(information: float, alpha: float, r: float) -> float:
    """Robbins' normal-mixture boundary for the mean, two-sided, at level ``alpha``."""
    if information <= 0 or not math.isfinite(information):
        return math.inf
    v = information
    return math.sqrt((v + r) * (math.log((v + r) / r) + 2 * math.log(1 / alpha))) / v


def _variance(x: F64) -> float:
    """A rate's variance shrunk away from 0 (half an event each way), a sample's otherwise."""
    n = x.size
    if n == 0:
        return math.inf
    if np.all((x == 0) | (x == 1)):
        k = float(x.sum())
        return (k + 0.5) * (n - k + 0.5) / (n + 1) ** 2
    return float(np.var(x, ddof=1)) if n > 1 else math.inf


def difference(canary: F64, champion: F64, alpha: float, r: float) -> tuple[float, float, float]:
    """``(estimate, low, high)`` of ``mean(canary) - mean(champion)``, anytime-valid."""
    if canary.size == 0 or champion.size == 0:
        return math.nan, -math.inf, math.inf
    se2 = _variance(canary) / canary.size + _variance(champion) / champion.size
    estimate = float(canary.mean() - champion.mean())
    h = half_width(1 / se2, alpha, r)
    return estimate, estimate - h, estimate + h


def mean_sequence(x: F64, alpha: float, r: float) -> tuple[float, float, float]:
    """``(estimate, low, high)`` of ``mean(x)``, anytime-valid."""
    if x.size == 0:
        return math.nan, -math.inf, math.inf
    estimate = float(x.mean())
    h = half_width(x.size / _variance(x), alpha, r)
    return estimate, estimate - h, estimate + h


def analyse(
    canary: Arm,
    champion: Arm,
    policy: CanaryPolicy,
    *,
    flips: npt.ArrayLike | None = None,
    step_requests: int | None = None,
) -> Analysis:
    """One look: every metric's interval and verdict, and the canary's.

    ``step_requests``: canary requests since the current step began (default: all of them);
    fewer than ``policy.min_requests`` holds, never passes. A critical failure fails at once
    (it is evidence whatever the sample), whatever the other metrics say.
    """
    critical = sum(1 for m in policy.metrics if m.critical) or 1
    alpha = policy.false_rollback_rate / critical
    flip = None if flips is None else np.asarray(flips, dtype=np.float64)
    judged = tuple(_judge(metric, canary, champion, flip, alpha) for metric in policy.metrics)
    failed = [m.name for m in judged if m.critical and m.verdict is Verdict.FAIL]
    if failed:
        return Analysis(Verdict.FAIL, f"critical metric failed: {', '.join(failed)}", judged)
    seen = canary.n if step_requests is None else step_requests
    if seen < policy.min_requests:
        reason = f"{seen} canary requests in this step, fewer than {policy.min_requests}"
        return Analysis(Verdict.HOLD, reason, judged)
    waiting = [m.name for m in judged if m.critical and m.verdict is not Verdict.PASS]
    if waiting:
        return Analysis(Verdict.HOLD, f"not yet conclusive: {', '.join(waiting)}", judged)
    return Analysis(Verdict.PASS, "every critical metric within its margin", judged)


def _judge(
    metric: CanaryMetric, canary: Arm, champion: Arm, flips: F64 | None, alpha: float
) -> MetricVerdict:
    m = metric.margin
    r = 1 / max(m, 1e-3) ** 2
    fail_above, pass_below = m, m
    n_canary, n_champion = canary.n, champion.n if metric.name != "flip_rate" else 0
    if metric.name in ("error_rate", "fallback_rate"):
        attribute = "errors" if metric.name == "error_rate" else "fallbacks"
        estimate, low, high = difference(
            getattr(canary, attribute), getattr(champion, attribute), alpha, r
        )
    elif metric.name == "latency_p99":
        estimate, low, high, fail_above, pass_below = _latency(canary, champion, m, alpha)
    elif metric.name == "score_shift":
        estimate, low, high = difference(canary.scores, champion.scores, alpha, r)
    elif metric.name in AUC_METRICS:
        estimate, low, high, n_canary, n_champion = _auc_harm(metric, canary, champion, alpha, r)
    else:  # flip_rate: one sample of paired decisions
        estimate, low, high = mean_sequence(flips if flips is not None else np.empty(0), alpha, r)
    verdict = _verdict(metric.name, low, high, fail_above, pass_below)
    if min(n_canary, n_champion if metric.name != "flip_rate" else n_canary) < metric.minimum:
        verdict = Verdict.HOLD  # too few to trust the variance: neither pass nor fail
    return MetricVerdict(
        name=metric.name,
        critical=metric.critical,
        n_canary=n_canary,
        n_champion=n_champion,
        estimate=estimate,
        low=low,
        high=high,
        fail_above=fail_above,
        pass_below=pass_below,
        alpha=alpha,
        verdict=verdict,
    )


def _auc_harm(
    metric: CanaryMetric, canary: Arm, champion: Arm, alpha: float, r: float
) -> tuple[float, float, float, int, int]:
    """Champion minus canary ROC AUC (estimated or realized), anytime-valid, and each arm's
    sample (scored requests with a probability, or labelled requests)."""
    measure = estimated_auc if metric.name == "estimated_roc_auc" else realized_auc
    (auc_canary, var_canary, n_canary) = measure(canary)
    (auc_champion, var_champion, n_champion) = measure(champion)
    se2 = var_canary + var_champion
    if not (math.isfinite(se2) and se2 > 0):
        return math.nan, -math.inf, math.inf, n_canary, n_champion
    estimate = auc_champion - auc_canary
    h = half_width(1 / se2, alpha, r)
    return estimate, estimate - h, estimate + h, n_canary, n_champion


def estimated_auc(arm: Arm) -> tuple[float, float, int]:
    """``(expected AUC, its variance, rows)`` of an arm's calibrated probabilities (CBPE), on
    the requests that have one (a request the fallback answered has none)."""
    if arm.probabilities.size != arm.scores.size:
        return math.nan, math.inf, 0
    known = np.isfinite(arm.probabilities)
    p, s = arm.probabilities[known], arm.scores[known]
    if p.size < 3:
        return math.nan, math.inf, int(p.size)
    return expected_auc(p, s), expected_auc_variance(p, s), int(p.size)


def expected_auc_variance(p: F64, s: F64) -> float:
    """The variance of CBPE's expected ROC AUC over the rows sampled (module docstring).

    ``N`` and ``D`` are the U-statistics of the pair weights ``p_i (1 - p_j) [s_i > s_j]``
    (ties one half) and ``p_i (1 - p_j)``, ``i != j``; ``h_N(i)`` and ``h_D(i)`` their kernels
    averaged over the other rows (symmetrised: row ``i`` as the positive and as the negative).
    """
    n = p.size
    q = 1.0 - p
    _, group, counts = np.unique(s, return_inverse=True, return_counts=True)
    negative = np.bincount(group, weights=q, minlength=counts.size)
    positive = np.bincount(group, weights=p, minlength=counts.size)
    neg_below = np.concatenate(([0.0], np.cumsum(negative)[:-1]))
    pos_above = positive.sum() - np.cumsum(positive)
    a = neg_below[group] + 0.5 * (negative[group] - q)  # negative weight outscored by row i
    b = pos_above[group] + 0.5 * (positive[group] - p)  # positive weight outscoring row i
    h_n = (p * a + q * b) / (2.0 * (n - 1))
    h_d = (p * (q.sum() - q) + q * (p.sum() - p)) / (2.0 * (n - 1))
    big_n, big_d = float(h_n.mean()), float(h_d.mean())
    if big_d <= 0:
        return math.inf
    theta = big_n / big_d
    influence = 2.0 * ((h_n - big_n) - theta * (h_d - big_d)) / big_d
    return float(np.var(influence, ddof=1)) / n


def realized_auc(arm: Arm) -> tuple[float, float, int]:
    """``(ROC AUC, DeLong variance, labelled rows)`` on the requests whose outcome arrived;
    no variance (infinite) with fewer than two of either class."""
    if arm.labels.size != arm.scores.size:
        return math.nan, math.inf, 0
    known = np.isfinite(arm.labels)
    y, s = arm.labels[known], arm.scores[known]
    positive = y == 1
    m, k = int(positive.sum()), int((~positive).sum())
    if min(m, k) < 2:
        return math.nan, math.inf, int(y.size)
    ones_neg, ones_pos = np.ones(k), np.ones(m)
    v10 = share_below(s[~positive], ones_neg, s[positive])  # per positive: negatives below
    v01 = 1.0 - share_below(s[positive], ones_pos, s[~positive])  # per negative: positives above
    auc = float(v10.mean())
    variance = float(np.var(v10, ddof=1)) / m + float(np.var(v01, ddof=1)) / k
    return auc, variance, int(y.size)


def _latency(
    canary: Arm, champion: Arm, margin_ms: float, alpha: float
) -> tuple[float, float, float, float, float]:
    """The excess share of canary requests slower than the champion's p99 plus the margin."""
    if champion.latency_ms.size == 0 or canary.latency_ms.size == 0:
        return math.nan, -math.inf, math.inf, 0.0, LATENCY_PASS
    limit = float(np.quantile(champion.latency_ms, 0.99)) + margin_ms
    slow_canary = (canary.latency_ms > limit).astype(np.float64)
    slow_champion = (champion.latency_ms > limit).astype(np.float64)
    r = 1 / LATENCY_PASS**2
    estimate, low, high = difference(slow_canary, slow_champion, alpha, r)
    return estimate, low, high, 0.0, LATENCY_PASS


def _verdict(name: str, low: float, high: float, fail_above: float, pass_below: float) -> Verdict:
    if name == "score_shift":  # two-sided: a shift either way
        if low > fail_above or high < -fail_above:
            return Verdict.FAIL
        return Verdict.PASS if -pass_below < low and high < pass_below else Verdict.HOLD
    if low > fail_above:
        return Verdict.FAIL
    return Verdict.PASS if high < pass_below else Verdict.HOLD


def fixed_horizon_n(p_champion: float, delta: float, margin: float, alpha: float) -> int:
    """Requests per arm a one-sided fixed-horizon z-test at level ``alpha`` needs for 80% power
    to show a rate worse by ``delta`` exceeds the margin (the benchmark's comparison)."""
    from statistics import NormalDist  # noqa: PLC0415

    z = NormalDist().inv_cdf
    p_canary = p_champion + delta
    variance = p_canary * (1 - p_canary) + p_champion * (1 - p_champion)
    return math.ceil((z(1 - alpha) + z(0.8)) ** 2 * variance / (delta - margin) ** 2)
