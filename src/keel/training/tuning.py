"""Hyper-parameter search with Optuna (TPE): every trial is a full, recorded run.

Trials are ordinary runs tagged with the study, so each can be shown, compared, reproduced and
registered like any other; the best one is tagged ``best``. Optuna is an optional dependency
(``pip install keel[tune]``), imported only here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from keel.errors import InvalidInput, KeelError
from keel.evaluation import get_metric
from keel.training.runs import Run, RunStatus
from keel.training.service import Trainer, TrainRequest
from keel.training.spec import SearchSpec, default_metrics


@dataclass(frozen=True)
class Dimension:
    name: str
    low: float
    high: float
    log: bool
    integer: bool


def parse_space(space: Mapping[str, list[float | int | str]]) -> list[Dimension]:
    """``{name: [low, high]}`` or ``[low, high, 'log']``; integers when both bounds are ints."""
    dimensions = []
    for name, spec in space.items():
        path = f"model.search.space.{name}"
        bounds = [v for v in spec if not isinstance(v, str)]
        flags = [v for v in spec if isinstance(v, str)]
        if len(bounds) != 2 or flags not in ([], ["log"]) or not bounds[0] < bounds[1]:
            raise InvalidInput(
                f"{path} must be [low, high] or [low, high, log] with low < high; got {spec}",
                path=path,
            )
        low, high = bounds
        integer = isinstance(low, int) and isinstance(high, int)
        dimensions.append(Dimension(name, float(low), float(high), bool(flags), integer))
    if not dimensions:
        raise InvalidInput(
            "model.search.space is empty: nothing to tune",
            path="model.search.space",
            hint="e.g. space: {num_leaves: [15, 127], learning_rate: [0.01, 0.2, log]}",
        )
    return dimensions


@dataclass(frozen=True)
class StudyResult:
    study: str
    metric: str
    benchmark: str
    trials: list[Run]
    best: Run | None


TrainMany = Callable[[list[TrainRequest]], list[Run | KeelError]]
"""Trains several requests (at once, where it can), returning each run or the error that
stopped it, in the order asked: where the trials of a study run."""


def tune(
    trainer: Trainer,
    search: SearchSpec,
    *,
    actor: str,
    study: str,
    trials: int | None = None,
    on_trial: Callable[[Run], None] | None = None,
    train_many: TrainMany | None = None,
    parallel: int = 1,
) -> StudyResult:
    """Run ``trials`` Optuna trials (TPE, seeded by the model seed); returns every trial run.

    Trials are asked for ``parallel`` at a time and trained by ``train_many`` (default: one
    after the other in this process), then told to the study: with ``parallel`` 1 the search
    is the sequential one.
    """
    optuna = _optuna()
    dimensions = parse_space(search.space)
    benchmark = search.benchmark or next(iter(trainer.benchmark.sets))
    reported = trainer.benchmark.metrics or default_metrics(trainer.target.task)
    metric_name = search.metric or reported[0]
    metric = get_metric(metric_name)
    sampler = optuna.samplers.TPESampler(seed=trainer.recipe.model.seed)
    direction = "maximize" if metric.higher_is_better else "minimize"
    runs: list[Run] = []
    train = train_many or (lambda requests: [_train_one(trainer, r) for r in requests])

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    searched = optuna.create_study(direction=direction, sampler=sampler)
    left = trials or search.trials
    while left > 0:
        asked = [searched.ask() for _ in range(min(parallel, left))]
        left -= len(asked)
        requests = [
            TrainRequest(
                actor=actor,
                params={d.name: _suggest(trial, d) for d in dimensions},
                tags=(f"study:{study}",),
            )
            for trial in asked
        ]
        for trial, outcome in zip(asked, train(requests), strict=True):
            if isinstance(outcome, KeelError):
                searched.tell(trial, state=optuna.trial.TrialState.PRUNED)
                continue
            runs.append(outcome)
            if on_trial is not None:
                on_trial(outcome)
            value = float(outcome.metrics["benchmarks"][benchmark][metric_name]["value"])
            searched.tell(trial, value)
    best = _best(runs, benchmark, metric_name, higher=metric.higher_is_better)
    if best is not None:
        best = replace(best, tags=(*best.tags, "best"))
        with trainer.write() as unit:
            unit.runs.finish(best)
            unit.audit.append(
                actor=actor,
                action="training.tune",
                subject=f"study:{study}",
                details={"trials": len(runs), "best": best.id, "metric": metric_name},
            )
    return StudyResult(study, metric_name, benchmark, runs, best)


def _train_one(trainer: Trainer, request: TrainRequest) -> Run | KeelError:
    try:
        return trainer.train(request)
    except KeelError as error:
        return error


def _best(runs: list[Run], benchmark: str, metric: str, *, higher: bool) -> Run | None:
    done = [r for r in runs if r.status is RunStatus.SUCCEEDED]
    if not done:
        return None

    def value(run: Run) -> float:
        return float(run.metrics["benchmarks"][benchmark][metric]["value"])

    return max(done, key=value) if higher else min(done, key=value)


def _suggest(trial: Any, d: Dimension) -> float | int:
    if d.integer:
        return int(trial.suggest_int(d.name, int(d.low), int(d.high), log=d.log))
    return float(trial.suggest_float(d.name, d.low, d.high, log=d.log))


def _optuna() -> Any:
    try:
        return importlib.import_module("optuna")
    except ImportError:
        raise InvalidInput(
            "keel tune needs Optuna, which is not installed",
            hint="pip install 'keel[tune]'",
        ) from None
