"""Frozen benchmark sets: cut once from the data, then the same rows for every candidate.

A set is frozen the first time a run needs it: its rows are stored as one content-addressed
Parquet part and recorded with its definition. Later runs read those exact rows; a changed
definition in keel.yaml is refused (rename the set to make a new one), so that two models are
never compared on different data under one name. Rows of any frozen set never train a model.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from keel.data.ports import RowStore
from keel.errors import Conflict, InvalidInput
from keel.training.ports import BenchmarkRepo
from keel.training.runs import BenchmarkSet
from keel.training.spec import BenchmarkSetSpec

FileReader = Callable[[str], pl.DataFrame]
"""Reads a project-relative file (the golden set); the adapter checks the path."""


def cut(
    name: str,
    spec: BenchmarkSetSpec,
    frame: pl.DataFrame,
    *,
    timestamp: str | None,
    seed: int,
    read_file: FileReader,
) -> pl.DataFrame:
    """The rows of one set, from the labelled frame (or a file)."""
    if spec.file is not None:
        return read_file(spec.file)
    if spec.where is not None:
        return _where(frame, spec.where, path=f"benchmark.sets.{name}.where")
    fraction = float(spec.fraction or 0.0)
    size = max(1, round(frame.height * fraction))
    if spec.split == "time":
        if timestamp is None or timestamp not in frame.columns:
            raise InvalidInput(
                f"benchmark set '{name}' splits by time, but the project has no timestamp column",
                path=f"benchmark.sets.{name}.split",
                hint="declare 'timestamp:' in keel.yaml or use split: random",
            )
        return newest(frame, timestamp, size)
    order = np.random.default_rng(seed).permutation(frame.height)[:size]
    return frame[np.sort(order)]


def newest(frame: pl.DataFrame, timestamp: str, size: int) -> pl.DataFrame:
    """The ``size`` newest rows, oldest first; equal times keep their order in ``frame``.

    The same rows as a stable sort of the whole frame then its tail, but only the timestamps are
    sorted and only the chosen rows are gathered (at 1M rows: 0.5 s -> 0.05 s).
    """
    times = frame.get_column(timestamp)
    if times.is_sorted() and times.null_count() == 0:
        return frame.tail(size)
    order = frame.select(pl.arg_sort_by(timestamp, maintain_order=True)).to_series()
    return frame[order.tail(size)]


def _where(frame: pl.DataFrame, where: dict[str, Any], *, path: str) -> pl.DataFrame:
    return frame.filter(where_mask(frame, where, path=path))


def where_mask(frame: pl.DataFrame, where: dict[str, Any], *, path: str) -> pl.Expr:
    """True for rows matching every column's listed values (the training filter uses it too)."""
    mask = pl.lit(True)
    for column, wanted in where.items():
        if column not in frame.columns:
            raise InvalidInput(f"{path}: no column '{column}' in the data", path=path)
        values = wanted if isinstance(wanted, list) else [wanted]
        mask &= pl.col(column).cast(pl.String).is_in([str(v) for v in values])
    return mask


def freeze_or_load(
    repo: BenchmarkRepo,
    rows: RowStore,
    *,
    project: str,
    name: str,
    spec: BenchmarkSetSpec,
    make: Callable[[], pl.DataFrame],
    data_version: int,
    now: datetime,
) -> tuple[BenchmarkSet, pl.DataFrame]:
    """The frozen set and its rows; freezes it (in ``repo``'s transaction) on first use."""
    definition = spec.model_dump(mode="json", exclude_none=True)
    frozen = repo.get(project, name)
    if frozen is not None:
        if frozen.definition != definition:
            raise Conflict(
                f"benchmark set '{name}' was frozen as {frozen.definition}; keel.yaml now says "
                f"{definition}",
                hint="a frozen set never changes: give the new definition a new name",
            )
        return frozen, rows.read(frozen.digest)
    frame = make()
    if frame.is_empty():
        raise InvalidInput(f"benchmark set '{name}' would be empty", path=f"benchmark.sets.{name}")
    frozen = BenchmarkSet(
        project=project,
        name=name,
        definition=definition,
        digest=rows.write(frame),
        rows=frame.height,
        data_version=data_version,
        created_at=now,
    )
    repo.add(frozen)
    return frozen, frame
