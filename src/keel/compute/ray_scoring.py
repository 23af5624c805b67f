"""Batch scoring on a Ray cluster: every chunk a Ray task, written back in order by the driver.

The driver reads the file or dataset version with the same readers as local scoring, sends each
chunk to a task, and writes the results in input order through ``BatchScorer.write``: the task
runs ``BatchScorer.score_chunk``, the local path's own contract check and model pipeline, so
the output is the local output row for row. At most a few chunks per CPU are in flight, so the
driver's memory stays bounded whatever the input's size.

A task whose worker dies is run again (``RETRIES`` times); a chunk that still fails stops the
job with the chunk and its rows named, and the output files, written under temporary names
until the last chunk, never appear under their final names.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import ray

from keel.compute.ray_cluster import cluster_cpus
from keel.errors import KeelError
from keel.serving.batch import BatchScorer, Progress, ScoredChunk, ScoreSummary

RETRIES = 3
"""How many times a chunk is run again when the worker running it dies."""
IN_FLIGHT_PER_CPU = 2

_scorers: dict[str, BatchScorer] = {}
"""The scorer of a job, unpickled once per worker process (keyed by its object id)."""


@ray.remote(max_retries=RETRIES, retry_exceptions=False)
def _score_block(
    scorer: list[Any], chunk: pl.DataFrame, checked: bool, from_text: bool
) -> ScoredChunk:
    [ref] = scorer  # in a list, so Ray hands over the reference, fetched once per process
    key = ref.hex()
    if key not in _scorers:
        _scorers.clear()
        _scorers[key] = ray.get(ref)
    return _scorers[key].score_chunk(chunk, checked=checked, from_text=from_text)


@dataclass(frozen=True)
class _Block:
    index: int
    first_row: int
    rows: int
    result: Any  # the ObjectRef of the task's ScoredChunk


def score_on_ray(
    ray_api: Any,
    scorer: BatchScorer,
    chunks: Iterable[pl.DataFrame],
    *,
    out: Path,
    rejects: Path,
    checked: bool,
    from_text: bool = False,
    progress: Progress | None = None,
) -> ScoreSummary:
    """Score ``chunks`` as Ray tasks on the connected cluster; the same files and summary as
    ``scorer.run`` over the same chunks."""
    window = IN_FLIGHT_PER_CPU * cluster_cpus(ray_api) + 1
    results = _in_order(
        ray_api, scorer, chunks, checked=checked, from_text=from_text, window=window
    )
    return scorer.write(results, out=out, rejects=rejects, progress=progress)


def _in_order(
    ray_api: Any,
    scorer: BatchScorer,
    chunks: Iterable[pl.DataFrame],
    *,
    checked: bool,
    from_text: bool,
    window: int,
) -> Iterator[ScoredChunk]:
    shared = [ray_api.put(scorer)]
    pending: deque[_Block] = deque()
    first_row = 0
    try:
        for index, chunk in enumerate(chunks):
            task = _score_block.remote(shared, chunk, checked, from_text)
            pending.append(_Block(index, first_row, chunk.height, task))
            first_row += chunk.height
            while len(pending) >= window:
                yield _result(ray_api, pending.popleft())
        while pending:
            yield _result(ray_api, pending.popleft())
    finally:
        for block in pending:  # a failed job leaves no task running
            ray_api.cancel(block.result, force=True)


def _result(ray_api: Any, block: _Block) -> ScoredChunk:
    try:
        result: ScoredChunk = ray_api.get(block.result)
    except ray.exceptions.RayError as error:
        cause = error.cause if isinstance(error, ray.exceptions.RayTaskError) else error
        last = block.first_row + block.rows - 1
        raise KeelError(
            f"block {block.index} (rows {block.first_row:,}-{last:,}) failed on the Ray cluster:"
            f" {type(cause).__name__}: {_first_line(cause)}",
            hint="nothing was written under the output's name; fix the cause and run again",
        ) from None
    return result


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""
