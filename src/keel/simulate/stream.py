"""The loan stream in chunks of any size, with the same rows whatever the size.

Rows are made in fixed blocks of ``BLOCK_ROWS`` and re-sliced, so memory stays bounded by one block
plus one chunk. A ``renamed_column`` changes the schema mid-stream: the chunk that straddles its
moment is split there, so each chunk has one schema and only that chunk comes out shorter.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

import numpy as np
import polars as pl

from keel.simulate import _checks
from keel.simulate.effects import make_block
from keel.simulate.incidents import Incident, RenamedColumn
from keel.simulate.loan import ENTITY, TARGET, TIMESTAMP
from keel.simulate.plan import Plan, make_plan

DEFAULT_CHUNK_ROWS = 100_000


def _blocks(plan: Plan, first: int = 0, *, withhold: bool = True) -> Iterator[pl.DataFrame]:
    for block in range(first, plan.blocks):
        yield make_block(plan, block, withhold=withhold)


def rechunk(frames: Iterable[pl.DataFrame], size: int) -> Iterator[pl.DataFrame]:
    """Frames re-cut to ``size`` rows each (the last may be shorter); order is kept."""
    pending: list[pl.DataFrame] = []
    held = 0
    for frame in frames:
        pending.append(frame)
        held += frame.height
        while held >= size:
            merged = pl.concat(pending) if len(pending) > 1 else pending[0]
            yield merged.slice(0, size)
            rest = merged.slice(size)
            pending, held = ([rest] if rest.height else []), rest.height
    if held:
        yield pl.concat(pending) if len(pending) > 1 else pending[0]


def _times(frame: pl.DataFrame) -> np.ndarray:
    return frame[TIMESTAMP].to_physical().to_numpy()


def _renamed(chunk: pl.DataFrame, plan: Plan) -> Iterator[pl.DataFrame]:
    """The chunk cut at each rename's moment, every piece under the names in force at its start."""
    if not plan.renames:
        yield chunk
        return
    times = _times(chunk)
    cuts = np.searchsorted(times, [t.at_us for t in plan.renames], side="left").tolist()
    edges = sorted({0, chunk.height, *cuts})
    for low, high in itertools.pairwise(edges):
        names = {
            t.incident.column: t.incident.new_name
            for t in plan.renames
            if isinstance(t.incident, RenamedColumn) and times[low] >= t.at_us
        }
        yield chunk.slice(low, high - low).rename(names)


def simulate(
    *,
    rows: int,
    seed: int,
    start: datetime,
    end: datetime,
    incidents: Sequence[Incident] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    id_offset: int = 0,
) -> Iterator[pl.DataFrame]:
    """Loan applications between ``start`` and ``end`` in chunks of ``chunk_rows``.

    Same arguments give the same rows, whatever ``chunk_rows`` is. Arguments are checked before
    the first chunk is made, so a bad call fails at once rather than on first iteration. Entity
    ids are numbered from ``id_offset + 1``: runs given offsets that leave room for each other's
    rows share no id.
    """
    plan = make_plan(
        rows=rows, seed=seed, start=start, end=end, incidents=incidents, id_offset=id_offset
    )
    size = _checks.check_count("chunk_rows", chunk_rows, minimum=1)
    return _stream(plan, size)


def _stream(plan: Plan, size: int) -> Iterator[pl.DataFrame]:
    for chunk in rechunk(_blocks(plan), size):
        yield from _renamed(chunk, plan)


def simulate_frame(
    *,
    rows: int,
    seed: int,
    start: datetime,
    end: datetime,
    incidents: Sequence[Incident] = (),
    id_offset: int = 0,
) -> pl.DataFrame:
    """The whole stream as one frame, for small runs.

    Across a rename both names appear, each null on the other side of the moment.
    """
    chunks = simulate(
        rows=rows, seed=seed, start=start, end=end, incidents=incidents, id_offset=id_offset
    )
    return pl.concat(list(chunks), how="diagonal")


def withheld_labels(
    *,
    rows: int,
    seed: int,
    start: datetime,
    end: datetime,
    incidents: Sequence[Incident] = (),
    id_offset: int = 0,
) -> pl.DataFrame:
    """The labels a ``label_delay`` withheld, as (application_id, defaulted), to ingest later.

    Only the blocks near the end of the stream are regenerated. Empty without a ``label_delay``.
    """
    plan = make_plan(
        rows=rows, seed=seed, start=start, end=end, incidents=incidents, id_offset=id_offset
    )
    empty = pl.DataFrame(schema={ENTITY: pl.String(), TARGET: pl.Int64()})
    if plan.withhold_from_us is None:
        return empty
    cutoff = plan.withhold_from_us
    pieces = [
        frame.filter(pl.col(TIMESTAMP).dt.epoch("us") >= cutoff).select(ENTITY, TARGET)
        for frame in _blocks(plan, plan.first_block_at(cutoff), withhold=False)
    ]
    return pl.concat([empty, *pieces])
