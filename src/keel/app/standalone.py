"""Monitoring a model trained elsewhere from its files (``keel monitor file``), standalone: no
project.

A reference file (the model's scores or predictions, its labels, its inputs) is profiled once;
every current file is cut into chunks of ``chunk_rows`` rows (a file is one chunk without it),
and each chunk gets drift, data quality, estimated performance (when it has the model's
output) and realized performance (when it has labels): ``keel.monitoring.standalone``. The
result is JSON and, when asked, the self-contained HTML report. It reads files only, so it is an
offline operation; the same types serve the Python API (``ModelMonitor``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from keel.app.drift import READERS
from keel.app.result import Result
from keel.app.use_case import offline
from keel.errors import InvalidInput
from keel.monitoring.standalone import ChunkReport, ModelMonitor, Task
from keel.reporting.chunks import render_chunk_report


@dataclass(frozen=True)
class FileMonitorRequest:
    """The files, the roles of their columns, and how to cut and report them."""

    reference: Path
    current: tuple[Path, ...]
    chunk_rows: int | None = None  # None: each current file is one chunk
    score: str | None = None
    label: str | None = None
    prediction: str | None = None
    threshold: float | None = None
    task: Task | None = None
    ignore: tuple[str, ...] = ()
    false_alarm_rate: float = 0.01
    html: Path | None = None


@dataclass(frozen=True)
class FileMonitorReport(Result):
    """Every chunk's checks, what was left out and why, and how long each step took."""

    reference: Path
    reference_rows: int
    current: tuple[Path, ...]
    task: str
    threshold: float | None
    compared: list[str]
    reference_missing: dict[str, float]
    skipped: dict[str, str]
    notes: list[str]
    chunks: list[ChunkReport]
    seconds: dict[str, float]
    report: Path | None


@offline(action="monitoring files")
def monitor_files(request: FileMonitorRequest) -> FileMonitorReport:
    """Profile the reference once, then check every chunk of the current files."""
    if request.chunk_rows is not None and request.chunk_rows < 1:
        raise InvalidInput(
            f"--chunk-rows must be at least 1; got {request.chunk_rows}", path="chunk_rows"
        )
    started = time.perf_counter()
    reference = _read_table(request.reference)
    read = time.perf_counter()
    monitor = ModelMonitor(
        score=request.score,
        label=request.label,
        prediction=request.prediction,
        threshold=request.threshold,
        task=request.task,
        ignore=request.ignore,
        false_alarm_rate=request.false_alarm_rate,
    ).fit(reference)
    fitted = time.perf_counter()
    chunks = [
        monitor.check(frame, label)
        for path in request.current
        for label, frame in _split_rows(_read_table(path), path.name, request.chunk_rows)
    ]
    checked = time.perf_counter()
    found = FileMonitorReport(
        reference=request.reference,
        reference_rows=reference.height,
        current=request.current,
        task=monitor.task_,
        threshold=monitor.threshold_ if monitor.task_ == "classification" else None,
        compared=list(monitor.profile_.columns),
        reference_missing=monitor.reference_missing_,
        skipped={**monitor.skipped_, **monitor.profile_.skipped},
        notes=list(monitor.notes_),
        chunks=chunks,
        seconds={
            "read_reference": read - started,
            "fit": fitted - read,
            "chunks": checked - fitted,
        },
        report=request.html,
    )
    if request.html is not None:
        _write_html(request.html, found)
    return found


def _read_table(path: Path) -> pl.DataFrame:
    """A Parquet or CSV file; a CSV's ISO dates and times are read as timestamps."""
    kind = READERS.get(path.suffix.lower())
    if not path.is_file() or kind is None:
        raise InvalidInput(f"{path}: expected an existing .parquet or .csv file", path="file")
    try:
        if kind == "parquet":
            return pl.read_parquet(path)
        return pl.read_csv(path, infer_schema_length=10_000, try_parse_dates=True)
    except (pl.exceptions.PolarsError, OSError) as exc:
        detail = str(exc).strip().splitlines()[0][:200]
        raise InvalidInput(f"cannot read {path.name}: {detail}", path="file") from exc


def _split_rows(
    frame: pl.DataFrame, name: str, rows: int | None
) -> Sequence[tuple[str, pl.DataFrame]]:
    """``frame`` in blocks of ``rows`` rows (the last may be shorter), each with its label."""
    if rows is None or rows >= frame.height:
        return [(name, frame)]
    return [
        (f"{name} rows {first + 1}-{min(first + rows, frame.height)}", frame.slice(first, rows))
        for first in range(0, frame.height, rows)
    ]


def _write_html(out: Path, found: FileMonitorReport) -> None:
    page = render_chunk_report(
        title=f"Monitoring: {', '.join(p.name for p in found.current)}"
        f" against {found.reference.name}",
        chunks=found.chunks,
        reference_missing=found.reference_missing,
        skipped=found.skipped,
        notes=found.notes,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
