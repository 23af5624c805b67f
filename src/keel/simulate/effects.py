"""One block of the stream: clean rows, then the world's incidents, then labels, then the pipe's.

Every incident draws from its own random stream keyed by (seed, block, incident), so its effect
is the same however the stream is later cut into chunks, and adding one never moves another.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from keel.simulate.incidents import CovariateDrift, NewCategory, NullSpike, UnitChange
from keel.simulate.loan import (
    RANGES,
    REFERENCE_SD,
    SCHEMA,
    TARGET,
    TIMESTAMP,
    base_block,
    block_rng,
)
from keel.simulate.plan import Plan, Timed
from keel.simulate.truth import BASE_CONCEPT, true_default_probability

_INCIDENT_STREAM = 1


def _set_where(
    frame: pl.DataFrame, active: np.ndarray, column: str, value: pl.Expr
) -> pl.DataFrame:
    """``column`` takes ``value`` on the active rows and keeps its type."""
    if not active.any():
        return frame
    chosen = pl.when(pl.lit(pl.Series(active))).then(value).otherwise(pl.col(column))
    return frame.with_columns(chosen.cast(frame.schema[column]).alias(column))


def _ramp(times: np.ndarray, timed: Timed) -> np.ndarray:
    """0 before ``at``, rising linearly to 1 at ``until``, 1 after (a step when they coincide)."""
    if timed.until_us <= timed.at_us:
        return (times >= timed.at_us).astype(np.float64)
    ramp: np.ndarray = np.clip((times - timed.at_us) / (timed.until_us - timed.at_us), 0.0, 1.0)
    return ramp


def _drift(
    frame: pl.DataFrame, ramp: np.ndarray, drift: CovariateDrift, luck: np.ndarray
) -> pl.DataFrame:
    """Numeric: shift by sd units times the ramp; categorical: move a ramped share to a value."""
    column = drift.column
    if drift.value is not None:
        return _set_where(frame, luck < drift.share * ramp, column, pl.lit(drift.value))
    low, high = RANGES[column]
    delta = pl.lit(pl.Series(drift.shift * REFERENCE_SD[column] * ramp))
    moved = (pl.col(column) + delta).clip(low, high)
    if SCHEMA[column] == pl.Int64():
        moved = moved.round()
    return frame.with_columns(moved.cast(SCHEMA[column]).alias(column))


def _apply(
    frame: pl.DataFrame, times: np.ndarray, timed: Timed, plan: Plan, block: int
) -> pl.DataFrame:
    """One incident on one block; rows before its moment are left untouched."""
    after = (times >= timed.at_us) & (times < timed.until_us)
    incident = timed.incident
    luck = block_rng(plan.seed, block, _INCIDENT_STREAM, timed.key).random(times.size)
    match incident:
        case UnitChange(column=column, factor=factor):
            return _set_where(frame, after, column, pl.col(column) * factor)
        case NullSpike(column=column, rate=rate):
            return _set_where(frame, after & (luck < rate), column, pl.lit(None))
        case NewCategory(column=column, value=value, share=share):
            return _set_where(frame, after & (luck < share), column, pl.lit(value))
        case CovariateDrift():
            return _drift(frame, _ramp(times, timed), incident, luck)
    return frame


def _probability(frame: pl.DataFrame, times: np.ndarray, plan: Plan) -> np.ndarray:
    """The ground truth in force at each row's time (concept drifts split the block)."""
    concepts = [BASE_CONCEPT, *(concept for _, concept in plan.concepts)]
    moments = [at for at, _ in plan.concepts]
    edges = [0, *np.searchsorted(times, moments, side="left").tolist(), times.size]
    probability = np.empty(times.size, dtype=np.float64)
    for (low, high), concept in zip(itertools.pairwise(edges), concepts, strict=True):
        if high > low:
            probability[low:high] = true_default_probability(frame[low:high], concept)
    return probability


def _label(
    frame: pl.DataFrame, times: np.ndarray, luck: np.ndarray, plan: Plan, *, withhold: bool
) -> pl.DataFrame:
    labels = pl.Series(TARGET, (luck < _probability(frame, times, plan)).astype(np.int64))
    if withhold and plan.withhold_from_us is not None:
        cut = int(np.searchsorted(times, plan.withhold_from_us, side="left"))
        labels = labels.scatter(np.arange(cut, times.size), None)
    return frame.with_columns(labels)


def make_block(plan: Plan, block: int, *, withhold: bool = True) -> pl.DataFrame:
    """Rows of one block with every incident applied; ``withhold=False`` keeps delayed labels."""
    frame, luck = base_block(plan.seed, block, plan.placement(block))
    times = frame[TIMESTAMP].to_physical().to_numpy()
    for timed in plan.world:
        frame = _apply(frame, times, timed, plan, block)
    frame = _label(frame, times, luck, plan, withhold=withhold)
    for timed in plan.pipe:
        frame = _apply(frame, times, timed, plan, block)
    return frame
