"""Stream a simulation to CSV, Parquet or JSON Lines with memory bounded by one chunk.

A file never mixes schemas: when a ``renamed_column`` changes the columns, the writer closes the
file and goes on in ``<stem>-part2<suffix>`` (then part3, ...), as a feed would start new files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

import polars as pl
import pyarrow.parquet as pq

from keel.errors import InvalidInput
from keel.simulate.incidents import Incident
from keel.simulate.stream import DEFAULT_CHUNK_ROWS, simulate

Progress = Callable[[int, int], None]
"""Called after each chunk with (rows done, rows total); the CLI draws it, the domain does not."""

FORMATS = (".csv", ".parquet", ".jsonl")


class _Sink(Protocol):
    def write(self, frame: pl.DataFrame) -> None: ...

    def close(self) -> None: ...


class _CsvSink:
    """Appends chunks to one CSV; the header comes with the first."""

    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = path.open("wb")
        self._header = True

    def write(self, frame: pl.DataFrame) -> None:
        frame.write_csv(self._file, include_header=self._header)
        self._header = False

    def close(self) -> None:
        self._file.close()


class _JsonlSink:
    """Appends chunks to one JSON Lines file, one object per row."""

    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = path.open("wb")

    def write(self, frame: pl.DataFrame) -> None:
        frame.write_ndjson(self._file)

    def close(self) -> None:
        self._file.close()


class _ParquetSink:
    """One row group per chunk through pyarrow's ParquetWriter, opened on the first chunk."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._writer: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._path, table.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


_SINKS: dict[str, Callable[[Path], _Sink]] = {
    ".csv": _CsvSink,
    ".parquet": _ParquetSink,
    ".jsonl": _JsonlSink,
}


def check_format(path: Path) -> str:
    """The output format named by the path's suffix."""
    suffix = path.suffix.lower()
    if suffix not in _SINKS:
        raise InvalidInput(
            f"'path' must end in one of {list(FORMATS)}; got {path.name!r}", path="path"
        )
    return suffix


def part_path(path: Path, part: int) -> Path:
    """``path`` itself for part 1, then ``<stem>-part<n><suffix>``."""
    return path if part == 1 else path.with_name(f"{path.stem}-part{part}{path.suffix}")


class RollingWriter:
    """Writes frames to ``path``, starting a new part file whenever the columns change."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._format = check_format(path)
        self._sink: _Sink | None = None
        self._columns: list[str] | None = None
        self.paths: list[Path] = []

    def write(self, frame: pl.DataFrame) -> None:
        if self._sink is None or frame.columns != self._columns:
            self.close()
            target = part_path(self._path, len(self.paths) + 1)
            self._sink = _SINKS[self._format](target)
            self._columns = frame.columns
            self.paths.append(target)
        self._sink.write(frame)

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None


def write_frames(
    path: Path, frames: Iterable[pl.DataFrame], *, total: int, progress: Progress | None = None
) -> list[Path]:
    """Stream ``frames`` to ``path`` (and part files); returns the files written, in order."""
    writer = RollingWriter(path)
    done = 0
    try:
        for frame in frames:
            writer.write(frame)
            done += frame.height
            if progress is not None:
                progress(done, total)
    finally:
        writer.close()
    return writer.paths


def write_simulation(
    path: str | Path,
    *,
    rows: int,
    seed: int,
    start: datetime,
    end: datetime,
    incidents: Sequence[Incident] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
    id_offset: int = 0,
) -> list[Path]:
    """Simulate into a .csv, .parquet or .jsonl file chosen by suffix; returns the files written.

    More than one file comes back only when a ``renamed_column`` changes the schema.
    """
    target = Path(path)
    check_format(target)
    chunks = simulate(
        rows=rows,
        seed=seed,
        start=start,
        end=end,
        incidents=incidents,
        chunk_rows=chunk_rows,
        id_offset=id_offset,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_frames(target, chunks, total=rows, progress=progress)
