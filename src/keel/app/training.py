"""The training plane: train, tune and reproduce models; explain their scores; read runs, their
model cards and the differences between two of them.

The training stack (LightGBM, scikit-learn, Optuna) is imported inside the use cases that train
or score, so that every face starts without it and every other command stays fast. Progress
reaches the face that draws it through callbacks: ``say`` names the step starting now, and
``progress`` opens a display for a number of trials and returns its updater.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from keel.app.result import Result
from keel.app.use_case import use_case
from keel.data.ingest import head, iter_version
from keel.errors import InvalidInput
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.store.provenance import is_gone
from keel.training.runs import Run, RunStatus
from keel.wiring import Keel

if TYPE_CHECKING:
    import polars as pl

    from keel.data.versions import DatasetVersion
    from keel.training.seeds import SeedSweep

Say = Callable[[str], None]
"""Progress of one run: called with a short description of the step starting now."""

TrialProgress = Callable[[int], AbstractContextManager[Callable[[int], None]]]
"""Progress of a study: given the number of trials, a context whose value is called with the
number of trials done so far."""


@dataclass(frozen=True)
class RunSummary(Result):
    """A run as the faces show it: its record, with each benchmark set's metric values beside
    the full estimates (JSON: ``benchmarks``, ``details``, and ``metrics`` of the first set)."""

    run: Run

    @property
    def benchmarks(self) -> dict[str, dict[str, float]]:
        """Metric values per benchmark set, without their intervals."""
        found = self.run.metrics.get("benchmarks", {})
        return {
            name: {m: e["value"] for m, e in metrics.items()} for name, metrics in found.items()
        }

    @property
    def metrics(self) -> dict[str, float]:
        """The metric values on the first benchmark set (the one listings show)."""
        return next(iter(self.benchmarks.values()), {})

    def to_dict(self) -> dict[str, Any]:
        body = self.run.to_dict()
        body["benchmarks"] = self.benchmarks
        body["details"] = body.pop("metrics")
        body["metrics"] = self.metrics
        return body


@use_case(Role.OPERATOR, action="training", writes=True)
def train(
    keel: Keel,
    actor: Actor,
    *,
    data_version: int | None = None,
    params: Mapping[str, Any] | None = None,
    seed: int | None = None,
    say: Say | None = None,
    tags: tuple[str, ...] = (),
) -> RunSummary:
    """Train on a dataset version (the latest by default) with keel.yaml's recipe, ``params``
    and ``seed`` overriding the model's; evaluate on the frozen benchmark sets. ``tags`` label
    the run (the agent tags its runs with the action's idempotency key)."""
    from keel.training.service import TrainRequest  # noqa: PLC0415 - see the module docstring

    request = TrainRequest(
        actor=actor.name,
        data_version=data_version,
        params=dict(params or {}),
        seed=seed,
        tags=tags,
    )
    _mark_abandoned(keel, actor)
    return RunSummary(keel.trainer().train(request, say=say))


@use_case(Role.VIEWER, action="listing runs")
def list_runs(keel: Keel, actor: Actor, *, limit: int = 20) -> list[RunSummary]:
    """The project's training runs, newest first; a run whose process is gone shows as
    abandoned (it is recorded so when the next run starts)."""
    with keel.reader() as unit:
        runs = unit.runs.list(keel.project.name, limit=limit)
    return [RunSummary(_as_seen(run)) for run in runs]


@use_case(Role.VIEWER, action="reading a run")
def show_run(keel: Keel, actor: Actor, run_id: str) -> RunSummary:
    """One run: inputs, environment, metrics, artifacts, logs."""
    with keel.reader() as unit:
        return RunSummary(_as_seen(unit.runs.get(run_id)))


def _as_seen(run: Run) -> Run:
    """The run, abandoned if it says running but the process that ran it has ended."""
    process = run.environment.process
    if run.status is not RunStatus.RUNNING or process is None or not is_gone(process):
        return run
    return replace(
        run,
        status=RunStatus.ABANDONED,
        error=f"the process that ran it (pid {process.pid} on {process.host}) ended"
        " without finishing it",
    )


def _mark_abandoned(keel: Keel, actor: Actor) -> None:
    """Record as abandoned every running run whose process is gone, before a new run starts."""
    with keel.reader() as unit:
        runs = unit.runs.list(keel.project.name, limit=_RUNS_CHECKED)
    gone = [seen for run in runs if (seen := _as_seen(run)) is not run]
    if not gone:
        return
    with keel.unit() as unit:
        for run in gone:
            unit.runs.finish(replace(run, finished_at=datetime.now(UTC)))
            unit.audit.append(
                actor=actor.name,
                action="training.run.abandoned",
                subject=f"run:{run.id}",
                details={"error": run.error},
            )


_RUNS_CHECKED = 500
"""How many of the newest runs a new run checks for abandoned ones."""


@dataclass(frozen=True)
class CardFile(Result):
    """A run's stored model card in one form: Markdown text, or one self-contained HTML page."""

    run_id: str
    form: Literal["markdown", "html"]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode()

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "form": self.form, "content": self.text}


@use_case(Role.VIEWER, action="reading a model card")
def card(
    keel: Keel, actor: Actor, run_id: str, *, form: Literal["markdown", "html"] = "markdown"
) -> CardFile:
    """The model card a run stored when it finished; a failed run has none."""
    with keel.reader() as unit:
        run = unit.runs.get(run_id)
    if "card.md" not in run.artifacts:
        raise InvalidInput(f"run {run_id} has no card ({run.status.value})", path="run")
    name = "card.md" if form == "markdown" else "card.html"
    return CardFile(run.id, form, keel.blobs.get(run.artifacts[name]))


@dataclass(frozen=True)
class MetricChange(Result):
    """One metric on one benchmark set in both runs: both estimates and ``b - a``."""

    benchmark: str
    metric: str
    a: dict[str, Any]
    b: dict[str, Any]
    delta: float

    @classmethod
    def between(
        cls, benchmark: str, metric: str, a: dict[str, Any], b: dict[str, Any]
    ) -> MetricChange:
        return cls(benchmark, metric, a, b, b["value"] - a["value"])


@dataclass(frozen=True)
class ParamChange(Result):
    """A model setting or parameter that differs between the two runs (None: not set)."""

    name: str
    a: Any
    b: Any


@dataclass(frozen=True)
class Comparison(Result):
    """Two runs side by side: the metrics both measured, and the model settings that differ."""

    a: str
    b: str
    metrics: tuple[MetricChange, ...]
    params: tuple[ParamChange, ...]


@use_case(Role.VIEWER, action="comparing runs")
def compare(keel: Keel, actor: Actor, first: str, second: str) -> Comparison:
    """Metric differences between two runs on the benchmark sets both were evaluated on."""
    with keel.reader() as unit:
        a, b = unit.runs.get(first), unit.runs.get(second)
    bench_a, bench_b = a.metrics.get("benchmarks", {}), b.metrics.get("benchmarks", {})
    metrics = sorted(
        (
            MetricChange.between(name, metric, bench_a[name][metric], bench_b[name][metric])
            for name in bench_a.keys() & bench_b.keys()
            for metric in bench_a[name].keys() & bench_b[name].keys()
        ),
        key=lambda change: (change.benchmark, change.metric),
    )
    return Comparison(a.id, b.id, tuple(metrics), _param_changes(a, b))


def _param_changes(a: Run, b: Run) -> tuple[ParamChange, ...]:
    flat_a, flat_b = _flat_model(a), _flat_model(b)
    names = sorted(flat_a.keys() | flat_b.keys())
    return tuple(
        ParamChange(n, flat_a.get(n), flat_b.get(n))
        for n in names
        if flat_a.get(n) != flat_b.get(n)
    )


def _flat_model(run: Run) -> dict[str, Any]:
    """The model section of a run's recipe, its ``params`` merged into the other settings."""
    model = run.params.get("model", {})
    return {**{k: v for k, v in model.items() if k != "params"}, **model.get("params", {})}


@dataclass(frozen=True)
class Reproduction(Result):
    """A run trained again from its record; ``differences`` are what changed in the
    environment (code, packages, Python, Keel) between the two."""

    run_id: str
    reproduction: str
    identical: bool
    original_sha256: str
    reproduced_sha256: str | None
    differences: tuple[str, ...]


@use_case(Role.OPERATOR, action="reproducing a run", writes=True)
def reproduce(keel: Keel, actor: Actor, run_id: str, *, say: Say | None = None) -> Reproduction:
    """Train again from a run's recorded data, recipe and seed; compare the model checksums and
    record the outcome in the audit trail."""
    from keel.training.service import Recipe, TrainRequest  # noqa: PLC0415

    with keel.reader() as unit:
        original = unit.runs.get(run_id)
    if original.model_sha256 is None:
        raise InvalidInput(f"run {run_id} has no model to reproduce ({original.status.value})")
    request = TrainRequest(
        actor=actor.name,
        data_version=original.data_version,
        labels_version=original.labels_version,
        seed=original.seed,
        parent=original.id,
        tags=("reproduction",),
        reviewed_before=_reviewed_before(original),
    )
    _mark_abandoned(keel, actor)
    again = keel.trainer(Recipe.from_dict(original.params)).train(request, say=say)
    found = Reproduction(
        run_id=original.id,
        reproduction=again.id,
        identical=again.model_sha256 == original.model_sha256,
        original_sha256=original.model_sha256,
        reproduced_sha256=again.model_sha256,
        differences=_environment_changes(original, again),
    )
    with keel.unit() as unit:
        unit.audit.append(
            actor=actor.name,
            action="training.reproduce",
            subject=f"run:{original.id}",
            details={
                "reproduction": again.id,
                "identical": found.identical,
                "differences": list(found.differences),
            },
        )
    return found


def _reviewed_before(run: Run) -> datetime:
    """The cutoff of the reviewers' labels ``run`` read (none for a run that recorded none)."""
    recorded = run.metrics.get("reviewed_labels") or {}
    before = recorded.get("before")
    return datetime.fromisoformat(before) if before else datetime(1970, 1, 1, tzinfo=UTC)


def _environment_changes(a: Run, b: Run) -> tuple[str, ...]:
    ea, eb = a.environment.to_dict(), b.environment.to_dict()
    keys = [key for key in ea if key != "process"]  # which process ran it is not reproduced
    return tuple(f"{key}: {ea[key]} → {eb.get(key)}" for key in keys if ea[key] != eb.get(key))


@dataclass(frozen=True)
class ExplainedRow(Result):
    """One row's score, the model's base value and its largest contributions by magnitude."""

    id: Any  # the entity id (the row's position when the rows have none)
    score: float
    bias: float
    contributions: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Explanation(Result):
    run_id: str
    rows: tuple[ExplainedRow, ...]


@use_case(Role.VIEWER, action="explaining predictions")
def explain(
    keel: Keel,
    actor: Actor,
    run_id: str,
    *,
    rows: int = 5,
    file: Path | None = None,
    top: int = 5,
) -> Explanation:
    """Per-row feature contributions (TreeSHAP for LightGBM, coefficient x value for linear) of
    the first ``rows`` rows of the run's data version, or of ``file`` (checked by the contract)."""
    from keel.models.bundle import load_bundle  # noqa: PLC0415

    with keel.reader() as unit:
        run = unit.runs.get(run_id)
        version = unit.datasets.get(keel.dataset, run.data_version)
    if run.model_sha256 is None:
        raise InvalidInput(f"run {run_id} has no model ({run.status.value})", path="run")
    bundle = load_bundle(keel.blobs, run.model_sha256)
    frame = _rows_to_explain(keel, version, file, rows)
    scores = bundle.score(frame)
    explained = bundle.explain(frame)
    entity = keel.project.entity
    found = tuple(
        ExplainedRow(
            id=frame[entity][i] if entity in frame.columns else i,
            score=float(scores[i]),
            bias=float(explained.bias[i]),
            contributions=tuple(explained.top(i, top)),
        )
        for i in range(frame.height)
    )
    return Explanation(run.id, found)


def _rows_to_explain(
    keel: Keel, version: DatasetVersion, file: Path | None, rows: int
) -> pl.DataFrame:
    if file is None:
        return head(iter_version(keel.rows, version), rows)
    return keel.read_checked(file, rows=rows)


@dataclass(frozen=True)
class Trial(Result):
    """One trial of a study: its run, the parameters it tried and the metric it reached."""

    run_id: str
    params: dict[str, Any]
    metric: str
    value: float

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "params": self.params, self.metric: self.value}


@dataclass(frozen=True)
class Study(Result):
    """A search over ``model.search.space``: every trial, and the best run (tagged ``best``)."""

    study: str
    metric: str
    benchmark: str
    best: str | None
    trials: tuple[Trial, ...]


@use_case(Role.OPERATOR, action="tuning", writes=True)
def tune(
    keel: Keel,
    actor: Actor,
    *,
    trials: int | None = None,
    progress: TrialProgress | None = None,
    executor: str = "local",
    ray_address: str | None = None,
) -> Study:
    """Search ``model.search.space`` with Optuna (``trials``, or ``model.search.trials``); every
    trial is a run, and the best is tagged ``best``. With ``executor`` ``ray`` the trials are
    Ray tasks, as many at once as the cluster has CPUs."""
    with _executor(executor, ray_address) as ray:
        return _tune(keel, actor, trials, progress, ray)


def _train_many(keel: Keel, ray: Any) -> tuple[Any, int]:
    """Where several runs train: Ray tasks, as many at once as the cluster has CPUs, when
    ``ray`` is connected; else None (one after the other here) and 1."""
    if ray is None:
        return None, 1
    from keel.compute.ray_tuning import ray_trainer  # noqa: PLC0415 - Ray is optional

    return ray_trainer(ray, keel.settings)


def _executor(executor: str, ray_address: str | None) -> AbstractContextManager[Any]:
    """Ray connected to its cluster for ``ray``, None for ``local``; another name is refused."""
    if executor not in ("local", "ray"):
        raise InvalidInput(
            f"unknown executor {executor!r}", path="executor", hint="one of: local, ray"
        )
    if executor == "ray":
        from keel.compute.ray_cluster import ray_cluster  # noqa: PLC0415 - Ray is optional

        return ray_cluster(ray_address)
    return nullcontext(None)


def _tune(
    keel: Keel, actor: Actor, trials: int | None, progress: TrialProgress | None, ray: Any
) -> Study:
    from keel.training.tuning import tune as tune_study  # noqa: PLC0415

    _mark_abandoned(keel, actor)
    train_many, parallel = _train_many(keel, ray)
    trainer = keel.trainer()
    search = trainer.recipe.model.search
    total = trials or search.trials
    trained: list[str] = []
    with (progress or _no_progress)(total) as advance:

        def on_trial(run: Run) -> None:
            trained.append(run.id)
            advance(len(trained))

        result = tune_study(
            trainer,
            search,
            actor=actor.name,
            study=f"s-{secrets.token_hex(4)}",
            trials=total,
            on_trial=on_trial,
            train_many=train_many,
            parallel=parallel,
        )
    found = tuple(
        Trial(
            run_id=r.id,
            params=r.params["model"]["params"],
            metric=result.metric,
            value=r.metrics["benchmarks"][result.benchmark][result.metric]["value"],
        )
        for r in result.trials
    )
    best = result.best.id if result.best else None
    return Study(result.study, result.metric, result.benchmark, best, found)


@dataclass(frozen=True)
class SeedSweepSummary(Result):
    """The runs of a seed fan-out and the spread of each benchmark metric over the seeds."""

    sweep: SeedSweep

    def to_dict(self) -> dict[str, Any]:
        by_id = {run.id: run for run in self.sweep.runs}
        return {
            "group": self.sweep.group,
            "seeds": list(self.sweep.seeds),
            "runs": [
                {"run_id": run.id, "seed": run.seed, "status": run.status.value}
                for run in by_id.values()
            ],
            "failed": {str(seed): why for seed, why in self.sweep.failed.items()},
            "spread": [spread.to_dict() for spread in self.sweep.spreads()],
        }


@use_case(Role.OPERATOR, action="training", writes=True)
def train_seeds(
    keel: Keel,
    actor: Actor,
    *,
    seeds: int,
    seed: int | None = None,
    data_version: int | None = None,
    params: Mapping[str, Any] | None = None,
    progress: TrialProgress | None = None,
    executor: str = "local",
    ray_address: str | None = None,
) -> SeedSweepSummary:
    """Train ``seeds`` runs of the recipe with consecutive seeds from ``seed`` (or model.seed),
    tagged ``seeds:<group>``, and report each benchmark metric's spread over them. With
    ``executor`` ``ray`` each seed is a Ray task, as many at once as the cluster has CPUs."""
    from keel.training.seeds import seed_list  # noqa: PLC0415 - see the module docstring
    from keel.training.seeds import train_seeds as fan_out  # noqa: PLC0415

    trainer = keel.trainer()
    chosen = seed_list(trainer.recipe.model.seed if seed is None else seed, seeds)
    with _executor(executor, ray_address) as ray:
        _mark_abandoned(keel, actor)
        train_many, parallel = _train_many(keel, ray)
        done = 0
        with (progress or _no_progress)(len(chosen)) as advance:

            def on_run(_outcome: object) -> None:
                nonlocal done
                done += 1
                advance(done)

            sweep = fan_out(
                trainer,
                actor=actor.name,
                group=f"g-{secrets.token_hex(4)}",
                seeds=chosen,
                data_version=data_version,
                params=params,
                train_many=train_many,
                parallel=parallel,
                on_run=on_run,
            )
    return SeedSweepSummary(sweep)


def _no_progress(_total: int) -> AbstractContextManager[Callable[[int], None]]:
    return nullcontext(lambda _done: None)
