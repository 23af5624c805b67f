"""Train one model: pinned data, frozen benchmarks, one pipeline, a recorded and reproducible run.

A run is inserted as ``running`` before any work and finished as ``succeeded`` or ``failed`` (with
the error) in its own transaction, so a crash never leaves a run that claims success, and an
interrupted one says so the next time anyone looks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, Protocol

import numpy as np
import polars as pl

from keel.audit.ports import AuditLog
from keel.data.contract import DataSchema
from keel.data.ingest import read_version
from keel.data.ports import DatasetRepo, RowStore
from keel.data.target import is_positive
from keel.data.versions import DatasetVersion
from keel.errors import InvalidInput, KeelError, NotFound
from keel.evaluation import MetricParams, calibration_curve, evaluate, slice_metrics
from keel.features import FeaturePipeline, FeatureSpec, feature_columns
from keel.models.bundle import ModelBundle
from keel.models.calibration import Calibrator
from keel.models.estimator import Task
from keel.models.factory import make_estimator
from keel.models.ports import ArtifactStore
from keel.training.benchmarks import FileReader, cut, freeze_or_load, where_mask
from keel.training.card import CardRenderer
from keel.training.ports import BenchmarkRepo, RunRepo
from keel.training.reviewed import REVIEWED, ReviewedLabels, fill_reviewed, review_weights
from keel.training.runs import Environment, Run, RunStatus
from keel.training.spec import BenchmarkSpec, ModelSpec, default_metrics

Say = Callable[[str], None]
"""Progress: called with a short description of the step starting now."""

SLICE_RESAMPLES = 200
"""Bootstrap resamples for slice intervals (slices of 10,000 rows or more use large-sample
methods, see ``keel.evaluation.intervals``; ECE's bin bootstrap draws this many)."""

IMPORTANCE_ROWS = 200
"""Rows whose mean |contribution| is a run's global importance. TreeSHAP costs about 1.4 ms a row
on one thread for 300 trees of 31 leaves, so 200 rows keep it a small part of a run; on the loan
example each column's mean then has a standard error of 4-8% (12-14% for the four least important
ones), and the top five keep their places but for one swap of two near-equal ones. The rows are
spread evenly over the first benchmark set (its first rows would be the oldest of a time-ordered
holdout)."""


class TrainingUnit(Protocol):
    @property
    def runs(self) -> RunRepo: ...

    @property
    def benchmarks(self) -> BenchmarkRepo: ...

    @property
    def datasets(self) -> DatasetRepo: ...

    @property
    def audit(self) -> AuditLog: ...


UnitFactory = Callable[[], AbstractContextManager[TrainingUnit]]


@dataclass(frozen=True)
class Target:
    column: str
    task: Task
    positive: object = 1

    def labels(self, values: pl.Series) -> np.ndarray:
        """0/1 for binary (by ``keel.data.target.is_positive``, the one label rule), NaN where
        no label; floats for regression."""
        if self.task == "regression":
            return values.cast(pl.Float64).to_numpy()
        return is_positive(values, self.positive).cast(pl.Float64).to_numpy()


@dataclass(frozen=True)
class TrainRequest:
    actor: str
    data_version: int | None = None
    labels_version: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    parent: str | None = None
    tags: tuple[str, ...] = ()
    reviewed_before: datetime | None = None
    """Read the reviewers' labels resolved up to this time (now by default; see reviewed.py)."""


@dataclass(frozen=True)
class Recipe:
    """Everything besides data that decides the model; a run stores it to be reproduced."""

    model: ModelSpec
    features: FeatureSpec

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.model_dump(mode="json"),
            "features": self.features.model_dump(mode="json"),
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Recipe:
        return cls(
            ModelSpec.model_validate(body["model"]), FeatureSpec.model_validate(body["features"])
        )


@dataclass
class Trainer:
    """Trains models of one project."""

    project: str
    dataset: str
    labels_dataset: str
    schema: DataSchema
    target: Target
    recipe: Recipe
    benchmark: BenchmarkSpec
    limitations: tuple[str, ...]
    rows: RowStore
    artifacts: ArtifactStore
    write: UnitFactory
    read: UnitFactory
    clock: Callable[[], datetime]
    environment: Environment
    read_file: FileReader
    cards: CardRenderer
    reviewed: ReviewedLabels | None = None

    def train(self, request: TrainRequest, *, say: Say | None = None) -> Run:
        """Train, evaluate and store one model; the run is recorded whatever happens."""
        tell = say or (lambda _step: None)
        recipe = self._recipe(request)
        run = self._start(request, recipe)
        log: list[str] = []
        cutoff = request.reviewed_before or run.started_at
        try:
            finished = self._fit(run, recipe, tell, log, cutoff)
        except BaseException as error:
            self._fail(run, error, log)
            raise
        return finished

    def _recipe(self, request: TrainRequest) -> Recipe:
        model = self.recipe.model
        params = {**model.params, **request.params}
        seed = request.seed if request.seed is not None else model.seed
        return replace(self.recipe, model=model.model_copy(update={"params": params, "seed": seed}))

    def _start(self, request: TrainRequest, recipe: Recipe) -> Run:
        with self.read() as unit:
            version = self._data_version(unit.datasets, request.data_version)
            labels = self._labels_version(unit.datasets, request.labels_version)
        with self.write() as unit:
            run = Run(
                id=unit.runs.next_id(self.project),
                project=self.project,
                status=RunStatus.RUNNING,
                data_version=version.version,
                labels_version=labels.version if labels else None,
                seed=recipe.model.seed,
                params=recipe.to_dict(),
                environment=self.environment,
                started_at=self.clock(),
                actor=request.actor,
                parent=request.parent,
                tags=request.tags,
            )
            unit.runs.add(run)
        return run

    def _data_version(self, datasets: DatasetRepo, number: int | None) -> DatasetVersion:
        if number is not None:
            return datasets.get(self.dataset, number)
        latest = datasets.latest(self.dataset)
        if latest is None:
            raise NotFound(
                "dataset",
                self.dataset,
                message=f"dataset '{self.dataset}' has no version to train on",
                hint="ingest data first: keel ingest FILE",
            )
        return latest

    def _labels_version(self, datasets: DatasetRepo, number: int | None) -> DatasetVersion | None:
        if number is not None:
            return datasets.get(self.labels_dataset, number)
        return datasets.latest(self.labels_dataset)

    def _fit(self, run: Run, recipe: Recipe, tell: Say, log: list[str], cutoff: datetime) -> Run:
        tell("reading data")
        frame, reviewed = self._labelled(run, log, cutoff)
        weights = None
        if REVIEWED in frame.columns:  # labels: weight; the mark is not data, never stored
            weights = review_weights(frame, float(reviewed["weight"]) if reviewed else 1.0)
            frame = frame.drop(REVIEWED)
        tell("freezing benchmark sets")
        sets = self._benchmarks(frame, run)
        pool = self._training_rows(frame, sets, recipe, log)
        tell(f"training {recipe.model.kind} on {pool.size:,} rows")
        bundle = self._train_bundle(frame, pool, recipe, log, weights)
        tell("evaluating on the benchmark sets")
        metrics = self._evaluate(bundle, sets)
        if reviewed is not None:
            metrics["reviewed_labels"] = reviewed
        tell("storing the model and its card")
        model_sha = bundle.save(self.artifacts)
        finished = replace(
            run,
            status=RunStatus.SUCCEEDED,
            finished_at=self.clock(),
            metrics=metrics,
            model_sha256=model_sha,
            logs="\n".join(log),
        )
        card = self.cards.render(finished, self.limitations, self.dataset)
        artifacts = {
            "model": model_sha,
            "card.md": self.artifacts.put(card.markdown.encode()),
            "card.html": self.artifacts.put(card.html.encode()),
        }
        finished = replace(finished, artifacts=artifacts)
        with self.write() as unit:
            unit.runs.finish(finished)
            unit.audit.append(
                actor=run.actor,
                action="training.run",
                subject=f"run:{run.id}",
                details={
                    "data_version": run.data_version,
                    "labels_version": run.labels_version,
                    "model_sha256": model_sha,
                    "kind": recipe.model.kind,
                    "seed": run.seed,
                    "parent": run.parent,
                },
            )
        return finished

    def _fail(self, run: Run, error: BaseException, log: list[str]) -> None:
        message = (
            error.message if isinstance(error, KeelError) else f"{type(error).__name__}: {error}"
        )
        failed = replace(
            run,
            status=RunStatus.FAILED,
            finished_at=self.clock(),
            error=message,
            logs="\n".join(log),
        )
        with self.write() as unit:
            unit.runs.finish(failed)
            unit.audit.append(
                actor=run.actor,
                action="training.run.failed",
                subject=f"run:{run.id}",
                details={"error": message[:500]},
            )

    def _labelled(
        self, run: Run, log: list[str], cutoff: datetime
    ) -> tuple[pl.DataFrame, dict[str, Any] | None]:
        """The data version joined with the labels that arrived later and, by the project's
        policy, the reviewers' labels; unlabelled rows dropped. Also what reviews it used."""
        with self.read() as unit:
            version = unit.datasets.get(self.dataset, run.data_version)
            labels = (
                unit.datasets.get(self.labels_dataset, run.labels_version)
                if run.labels_version
                else None
            )
        frame = read_version(self.rows, version)
        entity, column = self.schema.entity, self.target.column
        if labels is not None and entity is not None:
            late = read_version(self.rows, labels, columns=[entity, column])
            late = late.rename({column: "_keel_label"})
            frame = frame.join(late, on=entity, how="left", maintain_order="left")
            base = pl.col(column) if column in frame.columns else pl.lit(None)
            frame = frame.with_columns(
                base.cast(pl.String).fill_null(pl.col("_keel_label").cast(pl.String)).alias(column)
            ).drop("_keel_label")
        reviewed = None
        if self.reviewed is not None:
            frame, reviewed = fill_reviewed(
                frame, self.reviewed, cutoff, entity=entity, column=column
            )
            log.append(
                f"reviewed labels ({reviewed['policy']}): {reviewed['used']} used of"
                f" {reviewed['available']} resolved up to {reviewed['before']}"
            )
        if column not in frame.columns:
            raise InvalidInput(
                f"no labels: column '{column}' is in neither the data nor the labels",
                path="target.column",
                hint="ingest labels with 'keel labels ingest FILE'",
            )
        labelled = frame.filter(pl.col(column).is_not_null())
        log.append(
            f"data v{version.version}: {frame.height} rows, {labelled.height} labelled"
            + (f" (labels v{labels.version})" if labels else "")
        )
        if labelled.is_empty():
            raise InvalidInput("no labelled rows to train on", path="target.column")
        return labelled, reviewed

    def _benchmarks(self, frame: pl.DataFrame, run: Run) -> dict[str, pl.DataFrame]:
        sets: dict[str, pl.DataFrame] = {}
        with self.write() as unit:
            for name, spec in self.benchmark.sets.items():
                _, rows = freeze_or_load(
                    unit.benchmarks,
                    self.rows,
                    project=self.project,
                    name=name,
                    spec=spec,
                    make=partial(
                        cut,
                        name,
                        spec,
                        frame,
                        timestamp=self.schema.timestamp,
                        seed=run.seed,
                        read_file=self.read_file,
                    ),
                    data_version=run.data_version,
                    now=self.clock(),
                )
                sets[name] = rows
        return sets

    def _training_rows(
        self, frame: pl.DataFrame, sets: Mapping[str, pl.DataFrame], recipe: Recipe, log: list[str]
    ) -> np.ndarray:
        """Positions in ``frame`` of the labelled rows in no benchmark set (by entity id) that
        pass the train filter. Positions, not a copy: training gathers its rows once."""
        keep = pl.lit(True)
        entity = self.schema.entity
        if entity is not None:
            held = [s[entity].cast(pl.String) for s in sets.values() if entity in s.columns]
            held += self._retired_set_ids(set(sets), entity)
            if held:
                keep &= ~pl.col(entity).cast(pl.String).is_in(pl.concat(held).implode())
        if recipe.model.train is not None:
            keep &= where_mask(frame, recipe.model.train.where, path="model.train.where")
        positions = frame.select(pl.int_range(pl.len()).filter(keep)).to_series().to_numpy()
        log.append(f"training pool: {positions.size} rows after removing benchmark rows")
        if positions.size < 10:
            raise InvalidInput(
                f"only {positions.size} labelled rows are left to train on after the benchmark"
                " sets",
                path="benchmark.sets",
            )
        return positions

    def _retired_set_ids(self, current: set[str], entity: str) -> list[pl.Series]:
        """Ids of frozen sets keel.yaml no longer lists: their rows stay out of training too."""
        with self.read() as unit:
            retired = [s for s in unit.benchmarks.list(self.project) if s.name not in current]
        ids = []
        for frozen in retired:
            rows = self.rows.read(frozen.digest)
            if entity in rows.columns:
                ids.append(rows[entity].cast(pl.String))
        return ids

    def _train_bundle(
        self,
        frame: pl.DataFrame,
        pool: np.ndarray,
        recipe: Recipe,
        log: list[str],
        weights: np.ndarray | None = None,
    ) -> ModelBundle:
        """Fit on ``frame``'s rows at ``pool`` positions, less a random calibration split;
        ``weights`` (one per row of ``frame``) weigh the fitting rows."""
        model = recipe.model
        order = np.random.default_rng(model.seed).permutation(pool.size)
        n_cal = int(pool.size * model.calibration_fraction) if self.target.task == "binary" else 0
        cal_rows, fit_rows = pool[np.sort(order[:n_cal])], pool[np.sort(order[n_cal:])]
        columns = feature_columns(self.schema, recipe.features)
        needed = frame.select(*columns, self.target.column)  # ids and times are not gathered
        train, calibration = needed[fit_rows], needed[cal_rows]
        pipeline = FeaturePipeline(spec=recipe.features, columns=columns, model_kind=model.kind)
        matrix = pipeline.fit_transform(train)
        estimator = make_estimator(model.kind, self.target.task, model.params, seed=model.seed)
        y = self.target.labels(train[self.target.column])
        fit_weights = None if weights is None else weights[fit_rows]
        estimator.fit(
            matrix.values,
            y,
            names=matrix.names,
            categorical=matrix.categorical,
            weights=fit_weights,
        )
        if fit_weights is not None:
            log.append(f"{int((fit_weights != 1.0).sum())} fitting rows weighted by review")
        calibrator = Calibrator(method=model.calibration if n_cal else "none")
        if n_cal:
            raw = estimator.predict(pipeline.transform(calibration).values)
            calibrator.fit(raw, self.target.labels(calibration[self.target.column]))
        log.append(f"fit on {train.height} rows, calibrated ({calibrator.method}) on {n_cal} rows")
        signature = dict(columns)
        return ModelBundle(self.target.task, pipeline, estimator, calibrator, signature)

    def _evaluate(self, bundle: ModelBundle, sets: Mapping[str, pl.DataFrame]) -> dict[str, Any]:
        results: dict[str, Any] = {"benchmarks": {}, "slices": {}}
        for name, frame in sets.items():
            labelled = frame.filter(pl.col(self.target.column).is_not_null())
            y = self.target.labels(labelled[self.target.column])
            scores = bundle.score(labelled)
            results["benchmarks"][name] = self._metrics(y, scores)
            slices = self._slices(labelled, y, scores)
            if slices:
                results["slices"][name] = slices
            if self.target.task == "binary":
                results.setdefault("calibration", {})[name] = calibration_points(y, scores)
        results["importance"] = importance(bundle, next(iter(sets.values())))
        return results

    def _metric_options(self) -> tuple[list[str], MetricParams]:
        names = self.benchmark.metrics or default_metrics(self.target.task)
        return names, MetricParams(threshold=self.benchmark.threshold)

    def _metrics(self, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        names, params = self._metric_options()
        estimates = evaluate(
            y,
            scores,
            names,
            params=params,
            resamples=self.benchmark.resamples,
            confidence=self.benchmark.confidence,
            seed=0,
        )
        return {m: e.to_dict() for m, e in estimates.items()}

    def _slices(self, labelled: pl.DataFrame, y: np.ndarray, scores: np.ndarray) -> list[Any]:
        groups = {
            c: labelled[c].cast(pl.String).fill_null("(missing)").to_numpy()
            for c in self.benchmark.slices
            if c in labelled.columns
        }
        if not groups:
            return []
        names, params = self._metric_options()
        found = slice_metrics(y, scores, groups, names, params=params, resamples=SLICE_RESAMPLES)
        return [s.to_dict() for s in found]


def importance(bundle: ModelBundle, frame: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Gain, and mean |contribution| over ``IMPORTANCE_ROWS`` rows spread evenly over ``frame``."""
    rows = frame.gather_every(max(1, frame.height // IMPORTANCE_ROWS)).head(IMPORTANCE_ROWS)
    explained = bundle.explain(rows)
    return {
        "gain": bundle.importance(),
        "mean_abs_contribution": {
            c: float(np.abs(explained.values[:, i]).mean()) for i, c in enumerate(explained.columns)
        },
    }


def calibration_points(y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """Mean predicted vs observed rate in ten equal-width bins (for the card's plot)."""
    return calibration_curve(y, scores, bins=10).to_dict()
