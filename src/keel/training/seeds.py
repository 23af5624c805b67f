"""Training fan-out over seeds: the same recipe and data trained with several seeds, one run each.

A metric measured on one run mixes the model's quality with the luck of its seed (bagging and
feature sampling, the order of ties). Training N seeds and reporting each benchmark metric's
mean, standard deviation and range tells how much of a difference between two models the seed
alone could make. The runs train one after the other here, or at once where ``train_many`` puts
them (the Ray executor: one task per seed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from keel.errors import InvalidInput, KeelError
from keel.training.runs import Run, RunStatus
from keel.training.service import Trainer, TrainRequest
from keel.training.tuning import TrainMany

MAX_SEEDS = 64
SEED_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class MetricSpread:
    """One benchmark metric over the seeds that trained: what the seed alone moves."""

    benchmark: str
    metric: str
    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return math.fsum(self.values) / len(self.values)

    @property
    def sd(self) -> float | None:
        """The sample standard deviation (n - 1); None with a single value."""
        if len(self.values) < 2:
            return None
        mean = self.mean
        return math.sqrt(math.fsum((v - mean) ** 2 for v in self.values) / (len(self.values) - 1))

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "metric": self.metric,
            "n": len(self.values),
            "mean": self.mean,
            "sd": self.sd,
            "min": min(self.values),
            "max": max(self.values),
        }


@dataclass(frozen=True)
class SeedSweep:
    """The runs of one fan-out (tagged ``seeds:<group>``) and the spread of their metrics."""

    group: str
    seeds: tuple[int, ...]
    runs: tuple[Run, ...]
    failed: Mapping[int, str]
    """Seeds whose run did not train, with why."""

    def spreads(self) -> list[MetricSpread]:
        done = [r for r in self.runs if r.status is RunStatus.SUCCEEDED]
        if not done:
            return []
        found: list[MetricSpread] = []
        for benchmark, metrics in done[0].metrics.get("benchmarks", {}).items():
            for metric in metrics:
                values = tuple(
                    float(r.metrics["benchmarks"][benchmark][metric]["value"]) for r in done
                )
                found.append(MetricSpread(benchmark, metric, values))
        return found


def seed_list(base: int, count: int) -> tuple[int, ...]:
    """``count`` consecutive seeds from ``base``; refused when they would leave the seed range."""
    if not 2 <= count <= MAX_SEEDS:
        raise InvalidInput(
            f"--seeds must be between 2 and {MAX_SEEDS}; got {count}",
            path="seeds",
            hint="train one seed with 'keel train --seed N'",
        )
    if base + count - 1 > SEED_LIMIT:
        raise InvalidInput(
            f"seeds {base}..{base + count - 1} pass the largest seed, {SEED_LIMIT}",
            path="seed",
            hint="start from a smaller seed",
        )
    return tuple(range(base, base + count))


def train_seeds(
    trainer: Trainer,
    *,
    actor: str,
    group: str,
    seeds: tuple[int, ...],
    data_version: int | None = None,
    params: Mapping[str, Any] | None = None,
    train_many: TrainMany | None = None,
    parallel: int = 1,
    on_run: Callable[[Run | KeelError], None] | None = None,
) -> SeedSweep:
    """Train one run per seed (``parallel`` at a time through ``train_many``), each tagged
    ``seeds:<group>``; a seed whose run fails is reported, not retried."""
    requests = [
        TrainRequest(
            actor=actor,
            data_version=data_version,
            params=dict(params or {}),
            seed=seed,
            tags=(f"seeds:{group}",),
        )
        for seed in seeds
    ]
    train = train_many or (lambda asked: [_train_one(trainer, r) for r in asked])
    runs: list[Run] = []
    failed: dict[int, str] = {}
    step = max(1, parallel)
    for start in range(0, len(requests), step):
        asked = requests[start : start + step]
        for request, outcome in zip(asked, train(asked), strict=True):
            if isinstance(outcome, KeelError):
                failed[request.seed or 0] = outcome.message
            else:
                runs.append(outcome)
                if outcome.status is not RunStatus.SUCCEEDED:
                    failed[request.seed or 0] = outcome.error or outcome.status.value
            if on_run is not None:
                on_run(outcome)
    return SeedSweep(group, seeds, tuple(runs), failed)


def _train_one(trainer: Trainer, request: TrainRequest) -> Run | KeelError:
    try:
        return trainer.train(request)
    except KeelError as error:
        return error
