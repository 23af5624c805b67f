"""Labels arrive later than features, as their own frames keyed by entity id.

These functions join them, find entities labelled twice with different values (a data error that
must not reach training silently), and measure coverage and label-rate shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from keel.data.target import is_positive


@dataclass(frozen=True)
class LabelJoin:
    """Features with their label (null where none or conflicting) and the conflicting entities."""

    frame: pl.DataFrame
    conflicts: pl.DataFrame


@dataclass(frozen=True)
class LabelCoverage:
    """How many feature rows have a label, and how many labels match no feature row."""

    rows: int
    labelled: int
    orphan_labels: int

    @property
    def fraction(self) -> float:
        """Share of feature rows that carry a label (0 for no rows)."""
        return self.labelled / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class LabelRateShift:
    """Positive rate in two label sets and a two-proportion z-test of the difference."""

    reference_rate: float
    current_rate: float
    difference: float
    z: float
    p_value: float


def find_conflicts(labels: pl.DataFrame, *, entity: str, target: str) -> pl.DataFrame:
    """Entities with more than one distinct label, with the sorted list of their labels."""
    distinct = labels.select(entity, target).drop_nulls().unique()
    return (
        distinct.group_by(entity)
        .agg(pl.col(target).sort().alias("labels"))
        .filter(pl.col("labels").list.len() > 1)
        .sort(entity)
    )


def join_labels(
    features: pl.DataFrame, labels: pl.DataFrame, *, entity: str, target: str
) -> LabelJoin:
    """Left-join one label per entity; identical repeats count once, conflicts not at all."""
    conflicts = find_conflicts(labels, entity=entity, target=target)
    clean = (
        labels.select(entity, target)
        .drop_nulls()
        .unique()
        .join(conflicts.select(entity), on=entity, how="anti")
    )
    base = features.drop(target) if target in features.columns else features
    frame = base.join(clean, on=entity, how="left", maintain_order="left")
    return LabelJoin(frame, conflicts)


def label_coverage(features: pl.DataFrame, labels: pl.DataFrame, *, entity: str) -> LabelCoverage:
    """Feature rows with a label, and labels whose entity is not among the features."""
    ids = labels.select(pl.col(entity).drop_nulls().unique()).to_series()
    feature_ids = features[entity]
    labelled = int(feature_ids.is_in(ids.implode()).sum())
    orphans = int((~ids.is_in(feature_ids.unique().implode())).sum())
    return LabelCoverage(rows=features.height, labelled=labelled, orphan_labels=orphans)


def label_rate_shift(
    reference: pl.Series, current: pl.Series, *, positive: object = 1
) -> LabelRateShift:
    """Compare positive rates; the pooled two-proportion z-test says whether the shift is noise.

    What counts as positive is ``keel.data.target.is_positive``, the rule training uses.
    """
    n1, k1 = _count(reference, positive)
    n2, k2 = _count(current, positive)
    p1 = k1 / n1 if n1 else 0.0
    p2 = k2 / n2 if n2 else 0.0
    pooled = (k1 + k2) / (n1 + n2) if n1 + n2 else 0.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) if n1 and n2 else 0.0
    z = (p2 - p1) / se if se > 0 else 0.0
    return LabelRateShift(p1, p2, p2 - p1, z, math.erfc(abs(z) / math.sqrt(2)))


def _count(labels: pl.Series, positive: object) -> tuple[int, int]:
    """Non-null labels and how many of them are the positive class."""
    present = labels.drop_nulls()
    return present.len(), int(is_positive(present, positive).sum())
