"""The agent's review sample: seeded (the same seed draws the same rows), of the declared size,
and uniform: over many seeds every decision is drawn about size / population of the time."""

from __future__ import annotations

import numpy as np

from keel.decisions.queue import sample_rows


def test_the_same_seed_draws_the_same_rows_of_the_declared_size() -> None:
    first = sample_rows(1000, 50, seed=7)
    assert first == sample_rows(1000, 50, seed=7) and len(set(first)) == 50
    assert first == sorted(first) and first != sample_rows(1000, 50, seed=8)
    assert sample_rows(30, 50, seed=7) == list(range(30))  # fewer than asked: all of them


def test_every_decision_is_drawn_with_the_same_chance() -> None:
    population, size, seeds = 200, 20, 4000
    counts = np.zeros(population)
    for seed in range(seeds):
        counts[sample_rows(population, size, seed)] += 1
    rate = counts / seeds  # each ~ Binomial(4000, 0.1) / 4000: sd 0.0047
    assert abs(rate.mean() - 0.1) < 1e-9
    assert np.abs(rate - 0.1).max() < 0.025  # > 5 sd: false alarm below 1e-5 over 200 rows
