"""Simulated canaries with known truth, for the tests and the benchmark of ``canary``.

A canary and a champion answer requests from the same stream (the canary a ``share`` of them);
each request errs, falls back, takes a time and returns a score, with rates the caller sets.
``run_canary`` looks at the analysis after every ``chunk`` canary requests, as the agent does
after each tick, and reports when (and how) it stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from keel.automation.canary import Arm, Verdict, analyse
from keel.automation.policy import CanaryPolicy


@dataclass(frozen=True)
class Behaviour:
    """How one model answers: its error and fallback rates, latency and score distribution."""

    error_rate: float = 0.005
    fallback_rate: float = 0.01
    latency_ms: float = 3.0  # median; lognormal with sigma 0.35
    extra_latency_ms: float = 0.0  # added to every request
    score_shift: float = 0.0
    auc: float | None = None
    """When set, the scores rank at this ROC AUC: a calibrated model's probabilities under a
    binormal model (the positives' latent score shifted by ``sqrt(2) * Phi^-1(auc)``), each
    request positive with ``positive_rate``, its outcome known with ``labelled``."""
    positive_rate: float = 0.2
    labelled: float = 0.3


def requests(behaviour: Behaviour, n: int, rng: np.random.Generator) -> Arm:
    """``n`` simulated answers of a model that behaves as ``behaviour`` says."""
    errors = rng.random(n) < behaviour.error_rate
    fallbacks = rng.random(n) < behaviour.fallback_rate
    latency = behaviour.latency_ms * np.exp(0.35 * rng.standard_normal(n))
    if behaviour.auc is not None:
        return _ranked(behaviour, errors, fallbacks, latency, rng)
    scores = np.clip(rng.beta(2.0, 5.0, n) + behaviour.score_shift, 0.0, 1.0)
    scores[errors] = np.nan
    return Arm.of(errors, fallbacks, latency + behaviour.extra_latency_ms, scores)


def separation(auc: float) -> float:
    """The binormal shift of the positives' latent score that ranks at ``auc``."""
    return math.sqrt(2.0) * NormalDist().inv_cdf(auc)


def _ranked(
    behaviour: Behaviour,
    errors: npt.NDArray[np.bool_],
    fallbacks: npt.NDArray[np.bool_],
    latency: npt.NDArray[np.float64],
    rng: np.random.Generator,
) -> Arm:
    """Answers whose scores are calibrated probabilities ranking at ``behaviour.auc``."""
    n, pi = errors.size, behaviour.positive_rate
    shift = separation(behaviour.auc or 0.5)
    y = (rng.random(n) < pi).astype(np.float64)
    z = rng.standard_normal(n) + shift * y
    # P(y = 1 | z) for the binormal model: the logistic of its log-likelihood ratio
    logit = math.log(pi / (1 - pi)) + shift * z - shift**2 / 2
    p = 1.0 / (1.0 + np.exp(-logit)) + behaviour.score_shift
    p = np.clip(p, 0.0, 1.0)
    labels = np.where(rng.random(n) < behaviour.labelled, y, np.nan)
    p[errors] = np.nan
    return Arm.of(
        errors,
        fallbacks,
        latency + behaviour.extra_latency_ms,
        p,
        probabilities=p,
        labels=labels,
    )


def _joined(a: Arm, b: Arm) -> Arm:
    return Arm(
        errors=np.concatenate([a.errors, b.errors]),
        fallbacks=np.concatenate([a.fallbacks, b.fallbacks]),
        latency_ms=np.concatenate([a.latency_ms, b.latency_ms]),
        scores=np.concatenate([a.scores, b.scores]),
        probabilities=np.concatenate([a.probabilities, b.probabilities]),
        labels=np.concatenate([a.labels, b.labels]),
    )


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict  # FAIL (rolled back), PASS, or HOLD at the end of the horizon
    canary_requests: int  # canary requests seen when it stopped
    looks: int


def run_canary(
    canary: Behaviour,
    champion: Behaviour,
    policy: CanaryPolicy,
    *,
    seed: int,
    share: float = 0.25,
    chunk: int = 100,
    horizon: int = 5000,
    stop_on_pass: bool = True,
) -> Outcome:
    """Look after every ``chunk`` canary requests until a verdict (or ``horizon`` requests)."""
    rng = np.random.default_rng(seed)
    per_chunk = max(1, round(chunk * (1 - share) / share))
    seen_canary = requests(canary, 0, rng)
    seen_champion = requests(champion, 0, rng)
    looks = 0
    result = None
    while seen_canary.n < horizon:
        seen_canary = _joined(seen_canary, requests(canary, chunk, rng))
        seen_champion = _joined(seen_champion, requests(champion, per_chunk, rng))
        looks += 1
        result = analyse(seen_canary, seen_champion, policy)
        if result.verdict is Verdict.FAIL or (stop_on_pass and result.verdict is Verdict.PASS):
            return Outcome(result.verdict, seen_canary.n, looks)
    return Outcome(result.verdict if result else Verdict.HOLD, seen_canary.n, looks)
