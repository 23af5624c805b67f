"""Non-inferiority on simulated candidates whose true difference is known."""

from __future__ import annotations

import numpy as np

from keel.evaluation import MetricParams
from keel.registry import evidence, gates
from keel.registry.policy import NonInferiorityGate, WorstSliceGate

SPEC = NonInferiorityGate(non_inferior_to="champion", metric="roc_auc", margin=0.005)


def scores(rng: np.random.Generator, signal: np.ndarray, noise: float) -> np.ndarray:
    """Probabilities whose ranking quality falls as ``noise`` grows."""
    raw = signal + rng.normal(0.0, noise, signal.size)
    return 1 / (1 + np.exp(-raw))


def judged(candidate_noise: float, seed: int) -> bool:
    """Two models trained on the same data share most of their errors (``shared``); each adds
    its own. The champion's own noise has sd 0.3; the candidate's ``candidate_noise``."""
    rng = np.random.default_rng(seed)
    y = (rng.random(20_000) < 0.3).astype(np.float64)
    shared = rng.normal(0.0, 1.0, y.size)
    champion = scores(rng, y + shared, 0.3)
    candidate = scores(rng, y + shared, candidate_noise)
    difference = evidence.paired_improvement(y, champion, candidate, SPEC, MetricParams())
    assert difference is not None
    return gates.non_inferiority_check(SPEC, difference, 1).passed


def test_a_truly_worse_model_is_rejected() -> None:
    # own noise 0.9 instead of 0.3 costs about 0.05 of ROC AUC: far beyond the 0.005 margin
    assert not any(judged(0.9, seed) for seed in range(5))


def test_an_equally_good_model_passes_at_the_margin() -> None:
    # the same quality, its own noise: the paired interval stays within the margin
    assert all(judged(0.3, seed) for seed in range(5))


def test_slice_drops_compare_each_slice_with_the_reference() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.3).astype(np.float64)
    region = np.where(rng.random(4000) < 0.5, "north", "south").astype(object)
    good = scores(rng, y, 1.0)
    hurt = good.copy()
    south = region == "south"
    hurt[south] = scores(rng, y[south], 3.0)  # the candidate is much worse in the south only
    spec = WorstSliceGate(worst_slice_drop=0.03, metric="roc_auc", min_rows=100)
    drops = evidence.slice_drops(
        y, hurt, reference=good, groups={"region": region}, spec=spec, params=MetricParams()
    )
    by_value = {d.value: d.change for d in drops}
    assert by_value["north"] == 0.0 and by_value["south"] < -0.1
    assert not gates.worst_slice_check(spec, drops, 1).passed
