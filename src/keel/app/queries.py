"""Queries across planes: lineage, from one logged prediction back to the data it came from.

A prediction names the model version that answered it; the version names its training run and
dataset version; the dataset version names the ingest batches of its parts. ``lineage`` follows
that chain and returns it typed; its JSON is what ``keel lineage --json`` has always printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from keel.app.result import Result
from keel.app.use_case import use_case
from keel.data.versions import Batch, DatasetVersion
from keel.decisions.review import ReviewItem
from keel.errors import NotFound
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.registry.versions import ModelVersion, parse_version_ref
from keel.wiring import Keel


@dataclass(frozen=True)
class LoggedPrediction(Result):
    """One row of the prediction log, as lineage shows it (the inputs apart)."""

    request_id: str
    prediction_id: str
    time: str
    model: str | None
    entity_id: str
    score: float | None
    decision: str | None
    explanation: tuple[tuple[str, float], ...] | None
    ood: tuple[str, ...] | None
    fallback: str | None
    latency_ms: float | None
    route: str | None
    policy: str | None = None
    """The digest of the decision policy that decided it (None in logs from before digests)."""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LoggedPrediction:
        explanation = row.get("explanation")
        ood = row.get("ood")
        return cls(
            request_id=row["request_id"],
            prediction_id=row["prediction_id"],
            time=str(row["time"]),
            model=row.get("model"),
            entity_id=row["entity_id"],
            score=row.get("score"),
            decision=row.get("decision"),
            explanation=None
            if explanation is None
            else tuple((c["column"], c["value"]) for c in explanation),
            ood=None if ood is None else tuple(ood),
            fallback=row.get("fallback"),
            latency_ms=row.get("latency_ms"),
            route=row.get("route"),
            policy=row.get("policy"),
        )

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        if self.explanation is not None:
            body["explanation"] = [{"column": c, "value": v} for c, v in self.explanation]
        return body


@dataclass(frozen=True)
class ModelLineage(Result):
    """The model version that answered, and the run and data versions it was trained on."""

    model: str
    model_sha256: str
    run_id: str
    data_version: int
    labels_version: int | None

    @classmethod
    def of(cls, model: ModelVersion) -> ModelLineage:
        return cls(
            model=model.label,
            model_sha256=model.model_sha256,
            run_id=model.run_id,
            data_version=model.data_version,
            labels_version=model.labels_version,
        )


@dataclass(frozen=True)
class DatasetLineage(Result):
    label: str
    sha256: str


@dataclass(frozen=True)
class BatchLineage(Result):
    """An ingest batch that brought rows of the dataset version."""

    id: str
    source: str
    uri: str
    file_sha256: str | None

    @classmethod
    def of(cls, batch: Batch) -> BatchLineage:
        return cls(id=batch.id, source=batch.source, uri=batch.uri, file_sha256=batch.file_sha256)


@dataclass(frozen=True)
class OutcomeLineage(Result):
    """An outcome reported for the prediction: a label, a person's decision, who reported it."""

    time: str
    label: float | None
    decision: str | None
    source: str | None
    by: str
    """What it names: ``prediction`` (its id) or ``entity`` (its entity id)."""


@dataclass(frozen=True)
class Lineage(Result):
    """A prediction and where it came from; ``model`` is None when no model answered (a
    deferred decision), and then there is no dataset version and no batch either."""

    prediction: LoggedPrediction
    inputs: str | None
    model: ModelLineage | None = None
    dataset_version: DatasetLineage | None = None
    batches: tuple[BatchLineage, ...] = ()
    review: ReviewItem | None = None
    """The review item made from the prediction, if a person was asked."""
    outcomes: tuple[OutcomeLineage, ...] = ()
    """Outcomes reported for it (by its id, or by its entity), oldest first."""
    policy_version: str | None = None
    """The released policy version its digest names (``p2``), when that policy was registered."""

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"prediction": self.prediction.to_dict(), "inputs": self.inputs}
        if self.model is not None and self.dataset_version is not None:
            body["model"] = self.model.to_dict()
            body["dataset_version"] = self.dataset_version.to_dict()
            body["batches"] = [batch.to_dict() for batch in self.batches]
        if self.review is not None:  # later keys, present only when there is something
            body["review"] = self.review.to_dict()
        if self.outcomes:
            body["outcomes"] = [outcome.to_dict() for outcome in self.outcomes]
        if self.policy_version is not None:
            body["policy_version"] = self.policy_version
        return body


@use_case(Role.VIEWER, action="reading lineage")
def lineage(keel: Keel, actor: Actor, prediction_id: str) -> Lineage:
    """Trace a prediction: model version → run → dataset version → source batches."""
    row = _logged(keel, prediction_id)
    prediction = LoggedPrediction.from_row(row)
    digest = prediction.policy
    with keel.reader() as unit:
        review = unit.review_items.of_prediction(keel.project.name, prediction_id)
        named = unit.policies.by_digests(keel.project.name, [digest] if digest else [])
    policy = f"p{named[digest]}" if digest in named else None
    outcomes = _outcomes(keel, prediction)
    if not prediction.model:
        return Lineage(
            prediction, row.get("inputs"), review=review, outcomes=outcomes, policy_version=policy
        )
    number = parse_version_ref(prediction.model, keel.project.name)
    with keel.reader() as unit:
        model = unit.models.get(keel.project.name, number)
        version: DatasetVersion = unit.datasets.get(keel.dataset, model.data_version)
        batches = [unit.batches.get(b) for b in sorted({p.batch_id for p in version.parts})]
    return Lineage(
        prediction=prediction,
        inputs=row.get("inputs"),
        model=ModelLineage.of(model),
        dataset_version=DatasetLineage(label=version.label, sha256=version.sha256),
        batches=tuple(BatchLineage.of(b) for b in batches),
        review=review,
        outcomes=outcomes,
        policy_version=policy,
    )


def _outcomes(keel: Keel, prediction: LoggedPrediction) -> tuple[OutcomeLineage, ...]:
    """Outcomes naming the prediction's id, or (with no prediction id) its entity."""
    log = keel.outcome_log()
    try:
        mine = (pl.col("prediction_id") == prediction.prediction_id) | (
            pl.col("prediction_id").is_null() & (pl.col("entity_id") == prediction.entity_id)
        )
        found = log.scan().filter(mine).sort("time").collect()
    finally:
        log.close()
    return tuple(
        OutcomeLineage(
            time=str(row["time"]),
            label=row["label"],
            decision=row["decision"],
            source=row["source"],
            by="prediction" if row["prediction_id"] else "entity",
        )
        for row in found.iter_rows(named=True)
    )


def _logged(keel: Keel, prediction_id: str) -> dict[str, Any]:
    """The log's row for ``prediction_id``; ``NotFound`` when no server logged it."""
    predictions = keel.prediction_log()
    try:
        found = predictions.scan().filter(pl.col("prediction_id") == prediction_id).collect()
    finally:
        predictions.close()
    if found.is_empty():
        raise NotFound("prediction", prediction_id, hint="'keel predictions export' lists them")
    return found.row(0, named=True)
