"""Read a batch from CSV, Parquet, JSON lines or a SQL query, in bounded chunks.

Files stream through pyarrow's incremental readers, so memory is bounded by the chunk size, not
the file size. CSV is read as text (``from_text``): turning text into numbers is then the data
contract's job, with every failure recorded per row instead of a whole-file parse error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from keel.errors import InvalidInput
from keel.store.query_source import SqlSource

CHUNK_BYTES = 64 << 20
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}
FORMATS |= {".ndjson": "jsonl"}
__all__ = ["FORMATS", "Source", "SqlSource", "file_sha256", "open_source"]


@dataclass(frozen=True)
class Source:
    """Where a batch comes from; ``file_sha256`` lets a byte-identical re-ingest be spotted."""

    uri: str
    format: str
    from_text: bool
    file_sha256: str | None
    size_bytes: int | None

    def chunks(self, chunk_rows: int) -> Iterator[pl.DataFrame]:
        """The rows in order, at most ``chunk_rows`` per frame."""
        readers = {"csv": _csv_chunks, "parquet": _parquet_chunks, "jsonl": _jsonl_chunks}
        return _rechunk(readers[self.format](Path(self.uri)), chunk_rows)


def open_source(path: Path) -> Source:
    """Describe a file source, checking it exists and that its format is one Keel reads."""
    if path.is_dir():
        raise InvalidInput(
            f"{path} is a directory, not a file",
            path="file",
            hint="name one file; ingest each file of a folder with its own 'keel ingest'",
        )
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}", path="file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"cannot read '{path.name}': expected one of {', '.join(sorted(FORMATS))}",
            path="file",
        )
    return Source(str(path), fmt, fmt == "csv", file_sha256(path), path.stat().st_size)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _csv_chunks(path: Path) -> Iterator[pl.DataFrame]:
    names = _csv_header(path)
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    read = pa_csv.ReadOptions(block_size=CHUNK_BYTES)
    yield from _guarded(
        path, lambda: pa_csv.open_csv(path, read_options=read, convert_options=convert)
    )


def _csv_header(path: Path) -> list[str]:
    reader = _guarded_call(
        path, lambda: pa_csv.open_csv(path, read_options=pa_csv.ReadOptions(block_size=1 << 16))
    )
    return list(reader.schema.names)


def _parquet_chunks(path: Path) -> Iterator[pl.DataFrame]:
    """Record batches as they are read, a bounded number of rows at a time.

    ``pre_buffer`` is off: with it on, pyarrow keeps every range it read until the file is done
    (433 MB live after reading a 448 MB file), so memory grew with the file. Batches of 64k rows
    rather than 256k: reading 10M rows then peaked at 250 MB instead of 413 MB, and was quicker.
    """
    parquet = _guarded_call(path, lambda: pq.ParquetFile(path, pre_buffer=False))
    batches = parquet.iter_batches(batch_size=65_536)
    yield from _guarded(path, lambda: _BatchIterator(batches, parquet.schema_arrow))


def _jsonl_chunks(path: Path) -> Iterator[pl.DataFrame]:
    read = pa_json.ReadOptions(block_size=CHUNK_BYTES)
    yield from _guarded(path, lambda: pa_json.open_json(path, read_options=read))


class _BatchIterator:
    """Gives a plain iterator of record batches the ``read_next_batch`` shape of the readers."""

    def __init__(self, batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> None:
        self.batches = batches
        self.schema = schema

    def read_next_batch(self) -> pa.RecordBatch:
        return next(self.batches)


def _guarded(path: Path, open_reader: Any) -> Iterator[pl.DataFrame]:
    """Stream record batches, turning parse errors into one clear ``InvalidInput``.

    A file with a header but no rows yields one empty frame, so its columns are still checked.
    """
    reader = _guarded_call(path, open_reader)
    rows = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable(path, exc) from exc
        frame = pl.from_arrow(batch)
        if isinstance(frame, pl.DataFrame) and frame.height:
            rows += frame.height
            yield frame
    if rows == 0:
        empty = pl.from_arrow(reader.schema.empty_table())
        if isinstance(empty, pl.DataFrame) and empty.width:
            yield empty


def _guarded_call(path: Path, call: Any) -> Any:
    try:
        return call()
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(path, exc) from exc


def _unreadable(path: Path, exc: Exception) -> InvalidInput:
    detail = str(exc).splitlines()[0][:300]
    if "utf8" in detail.lower().replace("-", "") or "utf-8" in detail.lower():
        detail = _bad_utf8(path) or detail
    return InvalidInput(
        f"cannot read {path.name}: {detail}",
        path="file",
        hint="fix or re-export the file; nothing from it was stored",
    )


def _bad_utf8(path: Path) -> str | None:
    """Where the first byte sequence that is not UTF-8 sits: line, column and byte offset."""
    offset, line = 0, 1
    with path.open("rb") as handle:
        for raw in handle:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                at = offset + exc.start
                return (
                    f"line {line} is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte"
                    f" {at:,} of the file, column {exc.start + 1}); re-export it as UTF-8"
                )
            offset += len(raw)
            line += 1
    return None


def _rechunk(frames: Iterator[pl.DataFrame], chunk_rows: int) -> Iterator[pl.DataFrame]:
    """Regroup reader batches into frames of exactly ``chunk_rows`` (the last may be shorter)."""
    pending: list[pl.DataFrame] = []
    size = 0
    for frame in frames:
        if frame.height == 0:
            yield frame  # a header without rows: passed on so its columns are checked
            continue
        pending.append(frame)
        size += frame.height
        while size >= chunk_rows:
            merged = pl.concat(pending, how="vertical_relaxed")
            yield merged.slice(0, chunk_rows)
            rest = merged.slice(chunk_rows)
            pending, size = ([rest] if rest.height else []), rest.height
    if size:
        yield pl.concat(pending, how="vertical_relaxed")
