"""Batch scoring: a file or dataset version through the serving model's own pipeline, in chunks.

Rows are checked against the contract first, exactly as ingest checks them: a row that fails is
not scored but written to the rejects file with its reasons, so nothing is silently dropped.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from keel.data.contract import DataSchema
from keel.data.row_checks import check_rows
from keel.decisions import DecisionPolicy
from keel.decisions.frames import decide_frame
from keel.models.bundle import ModelBundle

Progress = Callable[[int], None]


@dataclass
class ScoreSummary:
    rows_in: int = 0
    scored: int = 0
    rejected: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "scored": self.scored,
            "rejected": self.rejected,
            "decisions": dict(self.decisions),
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_in / self.seconds) if self.seconds else None,
        }


@dataclass(frozen=True)
class ScoredChunk:
    """What one chunk became: its scored rows and the rows that failed the contract (None:
    no such row)."""

    rows_in: int
    scored: pl.DataFrame | None
    rejected: pl.DataFrame | None


@dataclass
class BatchScorer:
    """Scores chunks with one model version and writes scored rows and rejects as Parquet."""

    bundle: ModelBundle
    model: str  # e.g. "loan-default/v4"
    schema: DataSchema
    policy: DecisionPolicy

    def score_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Entity id (when the contract names one), score, decision and model per row."""
        scores = self.bundle.score(frame)
        columns: dict[str, Any] = {}
        entity = self.schema.entity
        if entity is not None and entity in frame.columns:
            columns[entity] = frame[entity]
        columns["score"] = pl.Series("score", scores, dtype=pl.Float64)
        columns["decision"] = pl.Series(
            "decision", decide_frame(self.policy, scores, frame), dtype=pl.String
        )
        columns["model"] = pl.Series("model", [self.model] * frame.height, dtype=pl.String)
        return pl.DataFrame(columns)

    def _no_rows(self) -> pl.DataFrame:
        """The output's columns without rows, for an input with no row to score."""
        columns = {"score": pl.Float64, "decision": pl.String, "model": pl.String}
        if self.schema.entity is not None:
            columns = {self.schema.entity: pl.String, **columns}
        return pl.DataFrame(schema=columns)

    def score_chunk(
        self, chunk: pl.DataFrame, *, checked: bool, from_text: bool = False
    ) -> ScoredChunk:
        """One chunk checked against the contract (unless ``checked``) and scored: the unit of
        work of every executor, local or on a cluster."""
        accepted, rejected = chunk, None
        if not checked:
            result = check_rows(chunk, self.schema, from_text=from_text)
            accepted = result.accepted
            if result.rejected.height:
                rejected = result.rejected
        scored = self.score_frame(accepted) if accepted.height else None
        return ScoredChunk(rows_in=chunk.height, scored=scored, rejected=rejected)

    def run(
        self,
        chunks: Iterable[pl.DataFrame],
        *,
        out: Path,
        rejects: Path,
        checked: bool,
        from_text: bool = False,
        progress: Progress | None = None,
    ) -> ScoreSummary:
        """Score every chunk; ``checked`` chunks (a dataset version) skip the contract check."""
        results = (self.score_chunk(c, checked=checked, from_text=from_text) for c in chunks)
        return self.write(results, out=out, rejects=rejects, progress=progress)

    def write(
        self,
        results: Iterable[ScoredChunk],
        *,
        out: Path,
        rejects: Path,
        progress: Progress | None = None,
    ) -> ScoreSummary:
        """Write scored chunks in the order given; the files appear under their final names
        only once every chunk is written."""
        summary = ScoreSummary()
        start = time.perf_counter()
        with _ParquetSink(out) as scored_sink, _ParquetSink(rejects) as reject_sink:
            for result in results:
                summary.rows_in += result.rows_in
                if result.rejected is not None:
                    reject_sink.write(result.rejected)
                    summary.rejected += result.rejected.height
                if result.scored is not None:
                    scored_sink.write(result.scored)
                    summary.scored += result.scored.height
                    summary.decisions.update(
                        d for d in result.scored["decision"].to_list() if d is not None
                    )
                if progress is not None:
                    progress(summary.rows_in)
            if not scored_sink.written:
                scored_sink.write(self._no_rows())
        summary.seconds = time.perf_counter() - start
        return summary


class _ParquetSink:
    """Appends frames to one Parquet file; the file appears only once a frame arrives, and is
    written to a temporary name first so a crash never leaves half a file under the final name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.writer: pq.ParquetWriter | None = None
        self.written = 0

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.partial, table.schema, compression="zstd")
        else:
            table = table.cast(self.writer.schema)
        self.writer.write_table(table)
        self.written += frame.height

    def __enter__(self) -> _ParquetSink:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self.writer is None:
            return
        self.writer.close()
        if kind is None:
            self.partial.replace(self.path)
        else:
            self.partial.unlink(missing_ok=True)
