"""The guarded agent: its canary analysis on simulated canaries with known truth, and the time
from an incident to a retrained candidate in shadow on the loan example.

1. A/A canaries (the canary behaves exactly as the champion): each looked at after every 100
   canary requests up to 5,000 (50 looks), never stopped by a pass. The share rolled back must
   stay at or below the declared false-rollback rate (1%); a fixed-horizon z-test peeked at the
   same looks is shown beside it, on canaries worse by exactly the tolerated margin.
2. Worse candidates (error rate +2 points with a 1-point margin; p99 latency +5 ms with a 2 ms
   margin): how often they are rolled back, and the canary requests needed, against the requests
   per arm a fixed-horizon test at the same level needs for 80% power (it must fix its sample
   in advance and may not be peeked at).
3. From a drift incident to the candidate in shadow: one ``keel agent tick`` on the loan example
   (train with keel.yaml's recipe, register, gate re-scoring the stored artifact, shadow).
4. ROC AUC against the champion's: A/A canaries (estimated by CBPE, and realized on the
   outcomes arrived) rolled back at most at the declared rate; a canary ranking 0.03 AUC worse:
   how often it is caught and the canary requests it takes.

    .venv/bin/python benchmarks/agent.py [--canaries 1000] [--rows 20000]
"""

# ruff: noqa: PLC0415  (a script: imports where used)
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import load_note

ALPHA = 0.01


def _policy(*metrics: dict[str, object]):  # type: ignore[no-untyped-def]
    from keel.automation.policy import CanaryPolicy

    return CanaryPolicy(false_rollback_rate=ALPHA, metrics=list(metrics))


ALL_METRICS = (
    {"name": "error_rate", "margin": 0.01},
    {"name": "fallback_rate", "margin": 0.01},
    {"name": "latency_p99", "margin": 2.0},
    {"name": "score_shift", "margin": 0.05, "critical": False},
)


def upper_95(failures: int, n: int) -> float:
    """The one-sided 95% Clopper-Pearson upper bound of a rate seen ``failures`` times in n."""
    if failures >= n:
        return 1.0
    from scipy.stats import beta

    return float(beta.ppf(0.95, failures + 1, n - failures))


def naive_peeking(seed: int, delta: float, looks: int = 50) -> bool:
    """A one-sided fixed-horizon z-test of the error rate (level ALPHA) peeked at every look."""
    rng = np.random.default_rng(seed)
    z = NormalDist().inv_cdf(1 - ALPHA)
    canary = rng.random(100 * looks) < 0.005 + delta
    champion = rng.random(300 * looks) < 0.005
    for n in range(100, 100 * looks + 1, 100):
        c, b = canary[:n].mean(), champion[: 3 * n].mean()
        se = math.sqrt(c * (1 - c) / n + b * (1 - b) / (3 * n))
        if se > 0 and (c - b - 0.01) / se > z:
            return True
    return False


def aa(canaries: int) -> None:
    from keel.automation.canary import Verdict
    from keel.automation.simulation import Behaviour, run_canary

    champion = Behaviour()
    policy = _policy(*ALL_METRICS)
    start = time.perf_counter()
    outcomes = [
        run_canary(champion, champion, policy, seed=s, horizon=5000, stop_on_pass=False)
        for s in range(canaries)
    ]
    seconds = time.perf_counter() - start
    failed = sum(o.verdict is Verdict.FAIL for o in outcomes)
    passed = sum(o.verdict is Verdict.PASS for o in outcomes)
    at_margin = Behaviour(error_rate=0.015)
    errors_only = _policy({"name": "error_rate", "margin": 0.01})
    boundary = sum(
        run_canary(
            at_margin, champion, errors_only, seed=s, horizon=5000, stop_on_pass=False
        ).verdict
        is Verdict.FAIL
        for s in range(canaries)
    )
    naive = sum(naive_peeking(s, 0.01) for s in range(canaries))
    print(f"\n1. false rollbacks (declared rate {ALPHA:.0%}), {canaries} canaries, 50 looks each")
    print(f"{'canary':<44}{'rolled back':>12}{'rate':>8}{'95% upper':>11}")
    rows = [
        ("A/A, four metrics (Keel)", failed),
        ("error rate worse by exactly the margin (Keel)", boundary),
        ("same, fixed-horizon z-test peeked at each look", naive),
    ]
    for name, count in rows:
        rate = count / canaries
        print(f"{name:<44}{count:>12}{rate:>8.2%}{upper_95(count, canaries):>11.2%}")
    print(f"A/A canaries passed by the end: {passed} of {canaries} ({seconds:.1f} s to simulate)")


def fixed_horizon(p_canary: float, p_champion: float, margin: float, alpha: float) -> int:
    """Canary requests a one-sided z-test at ``alpha`` needs for 80% power (champion 3x)."""
    z = NormalDist().inv_cdf
    variance = p_canary * (1 - p_canary) + p_champion * (1 - p_champion) / 3
    return math.ceil(
        (z(1 - alpha) + z(0.8)) ** 2 * variance / (p_canary - p_champion - margin) ** 2
    )


def slow_shares(extra_ms: float, margin_ms: float) -> tuple[float, float]:
    """P(latency > champion p99 + margin) for the canary (``extra_ms`` slower) and champion."""
    rng = np.random.default_rng(0)
    latency = 3.0 * np.exp(0.35 * rng.standard_normal(2_000_000))
    limit = float(np.quantile(latency, 0.99)) + margin_ms
    return float(np.mean(latency + extra_ms > limit)), float(np.mean(latency > limit))


def worse(canaries: int) -> None:
    from keel.automation.canary import Verdict
    from keel.automation.simulation import Behaviour, run_canary

    policy = _policy(*ALL_METRICS)
    per_metric = ALPHA / 3  # three critical metrics share the rate
    cases = [
        ("error rate +2 points (margin 1)", Behaviour(error_rate=0.025),
         fixed_horizon(0.025, 0.005, 0.01, per_metric)),
        ("p99 latency +5 ms (margin 2 ms)", Behaviour(extra_latency_ms=5.0),
         fixed_horizon(*slow_shares(5.0, 2.0), 0.0, per_metric)),
    ]  # fmt: skip
    print(f"\n2. worse candidates, {canaries} canaries each (canary share 25%, looks every 100)")
    print(f"{'candidate':<34}{'caught':>8}{'median n':>10}{'90th pct n':>12}{'fixed n':>9}")
    for name, behaviour, fixed in cases:
        outcomes = [
            run_canary(behaviour, Behaviour(), policy, seed=10_000 + s, horizon=30_000)
            for s in range(canaries)
        ]
        caught = [o.canary_requests for o in outcomes if o.verdict is Verdict.FAIL]
        share = len(caught) / canaries
        median = int(np.median(caught)) if caught else 0
        p90 = int(np.quantile(caught, 0.9)) if caught else 0
        print(f"{name:<34}{share:>8.1%}{median:>10,}{p90:>12,}{fixed:>9,}")
    print(
        "n: canary requests until the rollback (Keel) or fixed in advance (the fixed-horizon"
        " test, level alpha/3, power 80%); a ROC AUC drop: section 4"
    )


def auc_fixed_horizon(metric: str, canary: object, champion: object, margin: float) -> int:
    """Canary requests a one-sided z-test of the AUC difference at ALPHA needs for 80% power,
    its sample fixed in advance (the champion answering 3x as many), from each arm's variance
    per request (the one the sequence uses, on 40,000 simulated requests; for the realized AUC
    it includes the share of outcomes arrived)."""
    from keel.automation.canary import estimated_auc, realized_auc
    from keel.automation.simulation import requests

    rng = np.random.default_rng(7)
    measure = estimated_auc if metric == "estimated_roc_auc" else realized_auc
    n = 40_000
    auc_canary, var_canary, _ = measure(requests(canary, n, rng))  # type: ignore[arg-type]
    auc_champion, var_champion, _ = measure(requests(champion, n, rng))  # type: ignore[arg-type]
    per_request = (var_canary + var_champion / 3) * n
    z = NormalDist().inv_cdf
    excess = auc_champion - auc_canary - margin
    return math.ceil((z(1 - ALPHA) + z(0.8)) ** 2 * per_request / excess**2)


def auc(canaries: int) -> None:
    """The ROC AUC metrics: champion AUC 0.80, calibrated scores, 20% positives; the realized
    metric reads the 30% of outcomes arrived (or all of them). Margin 0.01 AUC."""
    from keel.automation.canary import Verdict
    from keel.automation.simulation import Behaviour, run_canary

    print(f"\n4. ROC AUC (champion 0.80, margin 0.01), {canaries} canaries, looks every 100")
    print(f"{'canary':<52}{'rolled back':>12}{'rate':>8}{'95% upper':>11}{'passed':>8}")
    champion = Behaviour(auc=0.80)
    start = time.perf_counter()
    for metric, canary, label in (
        ("estimated_roc_auc", champion, "A/A, estimated (CBPE)"),
        ("estimated_roc_auc", Behaviour(auc=0.79), "estimated, worse by exactly the margin"),
        ("realized_roc_auc", champion, "A/A, realized (30% of outcomes arrived)"),
    ):
        policy = _policy({"name": metric, "margin": 0.01})
        outcomes = [
            run_canary(canary, champion, policy, seed=s, horizon=5000, stop_on_pass=False)
            for s in range(canaries)
        ]
        failed = sum(o.verdict is Verdict.FAIL for o in outcomes)
        passed = sum(o.verdict is Verdict.PASS for o in outcomes)
        rate = failed / canaries
        print(f"{label:<52}{failed:>12}{rate:>8.2%}{upper_95(failed, canaries):>11.2%}{passed:>8}")
    print(
        f"{'worse candidate (share 25%)':<52}{'caught':>8}{'median n':>10}{'90th pct n':>12}"
        f"{'fixed n':>9}"
    )
    full = {"labelled": 1.0}
    for metric, worse, base, label in (
        ("estimated_roc_auc", Behaviour(auc=0.77), champion, "AUC -0.03, estimated"),
        ("realized_roc_auc", Behaviour(auc=0.77), champion, "AUC -0.03, realized, 30% labelled"),
        ("realized_roc_auc", Behaviour(auc=0.77, **full), Behaviour(auc=0.80, **full),
         "AUC -0.03, realized, every outcome arrived"),
    ):  # fmt: skip
        policy = _policy({"name": metric, "margin": 0.01})
        runs = max(50, canaries // (5 if metric == "estimated_roc_auc" else 20))
        outcomes = [
            run_canary(worse, base, policy, seed=10_000 + s, horizon=30_000) for s in range(runs)
        ]
        caught = [o.canary_requests for o in outcomes if o.verdict is Verdict.FAIL]
        median = int(np.median(caught)) if caught else 0
        p90 = int(np.quantile(caught, 0.9)) if caught else 0
        fixed = auc_fixed_horizon(metric, worse, base, 0.01)
        print(f"{label:<52}{len(caught) / runs:>8.1%}{median:>10,}{p90:>12,}{fixed:>9,}")
    seconds = time.perf_counter() - start
    print(
        f"n: canary requests until the rollback, at most 30,000 ({seconds:.0f} s to simulate);"
        " the estimate needs no outcome, the realized AUC waits for them; fixed n: the"
        " fixed-horizon test's sample (level 1%, power 80%), which may not be looked at before"
    )


def shadow_time(rows: int) -> None:
    """One tick from a drift incident to the retrained candidate in shadow, on the loan example."""
    from datetime import UTC, datetime

    import yaml

    from keel.app import agent
    from keel.app.scaffold import scaffold
    from keel.app.session import open_project
    from keel.data.ingest import BatchInput, Chunk
    from keel.monitoring.incidents import Breach, opened
    from keel.simulate import simulate_frame
    from keel.store.sql.schema import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "loan"
        scaffold(folder, "loan")
        config = yaml.safe_load((folder / "keel.yaml").read_text())
        config["release"]["approvals"] = 1
        # the latency gate times single rows: on a shared, loaded machine it measures the load
        config["release"]["gates"] = [
            g for g in config["release"]["gates"] if "latency_p99_ms" not in g
        ]
        config["automation"] = {
            "triggers": [{"when": "incident", "category": "drift", "do": "retrain"}],
            "actions": {"retrain": "auto", "shadow": "auto", "canary": "forbidden"},
        }
        (folder / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        keel = open_project(folder, check=False)
        upgrade(keel.db)
        frame = simulate_frame(
            rows=rows, seed=5, start=datetime(2024, 1, 1), end=datetime(2024, 6, 1)
        )
        keel.ingestor().ingest(BatchInput(keel.dataset, "sim", "sim", None, False, "bench"),
                               [Chunk(frame, False)])  # fmt: skip
        from dataclasses import replace

        from keel.identity.actor import Actor
        from keel.identity.roles import Role
        from keel.registry.policy import ReleasePolicy
        from keel.training.service import TrainRequest

        ops = Actor("bench", Role.ADMIN, "local")
        run = keel.trainer().train(TrainRequest(actor="bench"))
        registry = replace(keel.registry(), policy=ReleasePolicy())
        model, _ = registry.register(run.id, ops)
        registry.gate(model.version, ops)
        registry.promote(model.version, ops)
        breach = Breach("drift", "drift income psi", 0.4, 0.1, "bench", "drift")
        with keel.unit() as unit:
            seq = unit.incidents.next_seq(keel.project.name)
            unit.incidents.add(opened(keel.project.name, seq, [breach], datetime.now(UTC)))
        start = time.perf_counter()
        result = agent.tick(keel)
        seconds = time.perf_counter() - start
        head, _ = keel.registry().status()
        latest = keel.registry().latest_gate(model.version + 1)
        keel.close()
    in_shadow = head is not None and bool(head.state.shadow)
    print(f"\n3. drift incident -> candidate in shadow, loan example ({rows:,} rows,")
    print("   keel.yaml's recipe and gates but the single-row latency gate)")
    print(f"one tick: {seconds:.1f} s; candidate in shadow: {in_shadow}")
    for line in result.events:
        print(f"  {line}")
    for check in latest.checks if latest else ():
        if not check.passed:
            print(f"  gate check failed: {check.name} {check.value} (limit {check.threshold})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--canaries", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--python-peers", default=None, help="unused: no peer runs canaries")
    parser.add_argument("--no-peers", action="store_true", help="unused: Keel runs alone")
    parser.add_argument("--only", choices=["canary", "auc", "shadow"], default=None)
    args = parser.parse_args()
    print(load_note())
    if args.only in (None, "canary"):
        aa(args.canaries)
        worse(max(50, args.canaries // 5))
    if args.only in (None, "canary", "auc"):
        auc(args.canaries)
    if args.only is None or args.only == "shadow":
        shadow_time(args.rows)


if __name__ == "__main__":
    main()
