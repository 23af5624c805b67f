"""Labels that reviewers gave, as training reads them: filling labels the data lacks.

A reviewer who resolves a case with a label (``keel review resolve ... --label 1``) knows the
outcome, or decides as if they did; ``decisions.review.labels`` says whether training uses those
labels (``use``, the default) or not (``ignore``). Used, they fill only the target values the
data and the ingested labels leave empty: a label that arrived from the source of truth always
wins over a person's judgement. A run reads the reviews resolved up to a cutoff time and records
it, with how many labels it found and used, in its metrics (``reviewed_labels``), so that
reproducing the run reads the same ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import polars as pl

REVIEWED = "_keel_reviewed"


@dataclass(frozen=True)
class ReviewedLabels:
    """The project's policy for reviewed labels, and how to read them."""

    policy: Literal["use", "ignore", "weight"]
    read: Callable[[datetime], list[tuple[str, float]]]
    """(entity id, label) of the reviews resolved with a label up to a time."""
    weight: float = 1.0
    """With ``policy == "weight"``: the training weight of a row labelled by a reviewer."""


def fill_reviewed(
    frame: pl.DataFrame,
    reviewed: ReviewedLabels,
    cutoff: datetime,
    *,
    entity: str | None,
    column: str,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """``frame`` with missing ``column`` values filled from the reviewed labels, and the record
    of what was used (policy, cutoff, labels available, labels used; the weight given to them
    with ``weight``). With ``weight``, the rows filled are marked in the column ``REVIEWED``
    (true), which training turns into weights and drops before anything is stored."""
    record: dict[str, Any] = {
        "policy": reviewed.policy,
        "before": cutoff.isoformat(),
        "available": 0,
        "used": 0,
    }
    if reviewed.policy == "weight":
        record["weight"] = reviewed.weight
    if reviewed.policy == "ignore" or entity is None:
        return frame, record
    found = reviewed.read(cutoff)
    record["available"] = len(found)
    if not found or entity not in frame.columns:
        return frame, record
    dtype = frame.schema.get(column, pl.Float64())
    if not dtype.is_numeric():
        return frame, {**record, "skipped": f"target column '{column}' is not numeric"}
    labels = pl.DataFrame(
        {entity: [e for e, _ in found], REVIEWED: [v for _, v in found]},
        schema={entity: pl.String(), REVIEWED: pl.Float64()},
    ).unique(subset=entity, keep="last")
    joined = frame.with_columns(pl.col(entity).cast(pl.String).alias("_keel_entity")).join(
        labels.rename({entity: "_keel_entity"}),
        on="_keel_entity",
        how="left",
        maintain_order="left",
    )
    base = pl.col(column) if column in frame.columns else pl.lit(None, dtype=dtype)
    used = joined.select((base.is_null() & pl.col(REVIEWED).is_not_null()).sum()).item()
    from_review = (base.is_null() & pl.col(REVIEWED).is_not_null()).alias(REVIEWED)
    filled = joined.with_columns(
        base.fill_null(pl.col(REVIEWED).cast(dtype)).alias(column), from_review
    ).drop("_keel_entity")
    if reviewed.policy != "weight":
        filled = filled.drop(REVIEWED)
    return filled, {**record, "used": int(used)}


def review_weights(frame: pl.DataFrame, weight: float) -> Any:
    """Training weights of ``frame``'s rows: ``weight`` where a reviewer gave the label, else
    1 (None when no row is marked, so training is unweighted and unchanged)."""
    if REVIEWED not in frame.columns or not frame[REVIEWED].any():
        return None
    return (
        frame.select(pl.when(pl.col(REVIEWED)).then(weight).otherwise(1.0).cast(pl.Float64))
        .to_series()
        .to_numpy()
    )
