"""The outcome log: labels and reviewers' decisions that arrive after the prediction.

The same durable machinery as the prediction log (``SegmentLog``: per-process segments, group
commit, Parquet parts), with its own folder and table. An outcome names the prediction it
answers, or only the entity (an application id) when the labelling system never saw the
prediction id. ``join_outcomes`` puts each prediction next to its latest outcome: the one naming
its prediction id if any, else the latest naming its entity. Labels are numbers: 0 or 1 for a
binary target (the service maps the target's ``positive`` value to 1), the value for regression.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from keel.predictions.records import OutcomeRecord
from keel.store.tables.segment_log import SegmentLog, TableSpec

OUTCOMES = TableSpec(
    schema={
        "prediction_id": pl.String(),
        "entity_id": pl.String(),
        "time": pl.Datetime("us", "UTC"),
        "label": pl.Float64(),
        "decision": pl.String(),
        "source": pl.String(),
    },
    order=("time", "prediction_id", "entity_id"),
)
OUTCOME_COLUMNS = ("label", "outcome_decision", "outcome_time", "outcome_source")
"""What ``join_outcomes`` adds to each prediction (null where no outcome has arrived)."""


class OutcomeLog(SegmentLog[OutcomeRecord]):
    """The outcome table of one project."""

    TABLE = OUTCOMES


def join_outcomes(predictions: pl.LazyFrame, outcomes: pl.LazyFrame) -> pl.LazyFrame:
    """Every prediction with its latest outcome (by prediction id, else by entity id)."""
    latest = outcomes.select(
        "prediction_id",
        "entity_id",
        pl.col("label"),
        pl.col("decision").alias("outcome_decision"),
        pl.col("time").alias("outcome_time"),
        pl.col("source").alias("outcome_source"),
    )
    by_prediction = (
        latest.filter(pl.col("prediction_id").is_not_null())
        .group_by("prediction_id")
        .agg(_latest())
    )
    by_entity = (
        latest.filter(pl.col("prediction_id").is_null())
        .group_by("entity_id")
        .agg(_latest())
        .rename({name: f"{name}_entity" for name in OUTCOME_COLUMNS})
    )
    named = pl.col("outcome_time").is_not_null()
    joined = predictions.join(by_prediction, on="prediction_id", how="left").join(
        by_entity, on="entity_id", how="left"
    )
    return joined.with_columns(
        pl.when(named).then(pl.col(name)).otherwise(pl.col(f"{name}_entity")).alias(name)
        for name in OUTCOME_COLUMNS
    ).drop(f"{name}_entity" for name in OUTCOME_COLUMNS)


def matched(
    predictions: pl.LazyFrame, prediction_ids: Collection[str], entity_ids: Collection[str]
) -> tuple[set[str], set[str]]:
    """Which of these prediction ids, and which of these entity ids, the prediction log holds
    (the outcomes naming them join a prediction now; the others once one is logged)."""
    ids = pl.col("prediction_id").is_in(list(prediction_ids))
    entities = pl.col("entity_id").is_in(list(entity_ids))
    found = predictions.select("prediction_id", "entity_id").filter(ids | entities).collect()
    by_id = set(found.filter(ids)["prediction_id"].to_list())
    by_entity = set(found.filter(entities)["entity_id"].to_list())
    return by_id, by_entity


def _latest() -> pl.Expr:
    return pl.col(OUTCOME_COLUMNS).sort_by("outcome_time").last()
