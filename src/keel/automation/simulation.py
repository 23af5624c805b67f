"""Simulated canaries with known truth, for the tests and the benchmark of ``canary``.

A canary and a champion answer requests from the same stream (the canary a ``share`` of them);
each request errs, falls back, takes a time and returns a score, with rates the caller sets.
``run_canary`` looks at the analysis after every ``chunk`` canary requests, as the agent does
after each tick, and reports when (and how) it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def requests(behaviour: Behaviour, n: int, rng: np.random.Generator) -> Arm:
    """``n`` simulated answers of a model that behaves as ``behaviour`` says."""
    errors = rng.random(n) < behaviour.error_rate
    fallbacks = rng.random(n) < behaviour.fallback_rate
    latency = behaviour.latency_ms * np.exp(0.35 * rng.standard_normal(n))
    scores = np.clip(rng.beta(2.0, 5.0, n) + behaviour.score_shift, 0.0, 1.0)
    scores[errors] = np.nan
    return Arm.of(errors, fallbacks, latency + behaviour.extra_latency_ms, scores)


def _joined(a: Arm, b: Arm) -> Arm:
    return Arm(
        errors=np.concatenate([a.errors, b.errors]),
        fallbacks=np.concatenate([a.fallbacks, b.fallbacks]),
        latency_ms=np.concatenate([a.latency_ms, b.latency_ms]),
        scores=np.concatenate([a.scores, b.scores]),
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
