"""The stream cut at calendar-month boundaries (UTC), as a feed delivering monthly files would.

Like chunks, a month never mixes schemas: a month that a ``renamed_column`` falls inside comes
out in two frames (and two files, the second named ``<YYYY-MM>-part2``), before and after.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from keel.errors import InvalidInput
from keel.simulate import _checks
from keel.simulate.incidents import Incident
from keel.simulate.loan import TIMESTAMP
from keel.simulate.stream import DEFAULT_CHUNK_ROWS, simulate
from keel.simulate.writer import FORMATS, Progress, RollingWriter


def _next_month(moment: datetime) -> datetime:
    return datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1)


def month_starts(start: datetime, end: datetime) -> list[datetime]:
    """The first instant of every calendar month after ``start`` and up to ``end``."""
    starts: list[datetime] = []
    moment = _next_month(start)
    while moment < end:
        starts.append(moment)
        moment = _next_month(moment)
    return starts


def by_month(
    chunks: Iterable[pl.DataFrame], start: datetime, end: datetime
) -> Iterator[tuple[str, pl.DataFrame]]:
    """Each chunk cut where a month begins, labelled 'YYYY-MM'."""
    starts = month_starts(start, end)
    edges_us = np.array([_checks.to_micros(moment) for moment in starts], dtype=np.int64)
    labels = [f"{moment:%Y-%m}" for moment in (start, *starts)]
    for chunk in chunks:
        month = np.searchsorted(edges_us, chunk[TIMESTAMP].to_physical().to_numpy(), "right")
        cuts = np.flatnonzero(np.diff(month)) + 1
        for low, high in zip([0, *cuts.tolist()], [*cuts.tolist(), chunk.height], strict=True):
            yield labels[int(month[low])], chunk.slice(low, high - low)


def _window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    return _checks.check_window(start, end)


def simulate_months(
    *,
    rows: int,
    seed: int,
    start: datetime,
    end: datetime,
    incidents: Sequence[Incident] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    id_offset: int = 0,
) -> Iterator[tuple[str, pl.DataFrame]]:
    """('YYYY-MM', frame) per calendar month, in order; memory holds one month at a time."""
    chunks = simulate(
        rows=rows,
        seed=seed,
        start=start,
        end=end,
        incidents=incidents,
        chunk_rows=chunk_rows,
        id_offset=id_offset,
    )
    return _gather(by_month(chunks, *_window(start, end)))


def _gather(pieces: Iterable[tuple[str, pl.DataFrame]]) -> Iterator[tuple[str, pl.DataFrame]]:
    """Consecutive pieces of one month and one schema joined into one frame."""
    label: str | None = None
    group: list[pl.DataFrame] = []
    for name, piece in pieces:
        if group and (name != label or piece.columns != group[0].columns):
            yield str(label), pl.concat(group)
            group = []
        label = name
        group.append(piece)
    if group:
        yield str(label), pl.concat(group)


def write_months(
    directory: str | Path,
    *,
    rows: int,
    seed: int,
    start: datetime,
    end: datetime,
    incidents: Sequence[Incident] = (),
    suffix: str = ".parquet",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
    id_offset: int = 0,
) -> list[Path]:
    """One file per month, '<directory>/<YYYY-MM><suffix>', streamed chunk by chunk."""
    if suffix not in FORMATS:
        raise InvalidInput(
            f"'suffix' must be one of {list(FORMATS)}; got {suffix!r}", path="suffix"
        )
    folder = Path(directory)
    chunks = simulate(
        rows=rows,
        seed=seed,
        start=start,
        end=end,
        incidents=incidents,
        chunk_rows=chunk_rows,
        id_offset=id_offset,
    )
    folder.mkdir(parents=True, exist_ok=True)
    return _write(by_month(chunks, *_window(start, end)), folder, suffix, rows, progress)


def _write(
    pieces: Iterable[tuple[str, pl.DataFrame]],
    folder: Path,
    suffix: str,
    total: int,
    progress: Progress | None,
) -> list[Path]:
    paths: list[Path] = []
    writer: RollingWriter | None = None
    label, done = "", 0
    try:
        for name, piece in pieces:
            if writer is None or name != label:
                paths += _closed(writer)
                writer, label = RollingWriter(folder / f"{name}{suffix}"), name
            writer.write(piece)
            done += piece.height
            if progress is not None:
                progress(done, total)
    finally:
        paths += _closed(writer)
    return paths


def _closed(writer: RollingWriter | None) -> list[Path]:
    if writer is None:
        return []
    writer.close()
    return writer.paths
