"""Evidence for the gates: paired comparisons, slice drops and single-row latency.

Both models are scored on the same frozen benchmark rows, so their difference is paired: the
row-to-row noise they share cancels, and a small true difference shows as one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from keel.evaluation import MetricParams, get_metric, paired_difference, slice_metrics
from keel.models.bundle import ModelBundle
from keel.registry.gates import Difference, SliceDrop
from keel.registry.policy import NonInferiorityGate, WorstSliceGate

F64 = npt.NDArray[np.float64]
WARMUP_ROWS = 10


def paired_improvement(
    y: F64, champion: F64, candidate: F64, spec: NonInferiorityGate, params: MetricParams
) -> Difference | None:
    """Candidate minus champion on ``spec.metric``, signed so that positive means better."""
    metric = get_metric(spec.metric)
    found = paired_difference(
        y,
        champion,
        candidate,
        metric.name,
        resamples=spec.resamples,
        confidence=spec.confidence,
        params=params,
    )
    if found.low is None or found.high is None:
        return None
    if metric.higher_is_better:
        return Difference(found.value, found.low, found.high)
    return Difference(-found.value, -found.high, -found.low)


def slice_drops(
    y: F64,
    candidate: F64,
    *,
    reference: F64 | None,
    groups: Mapping[str, Sequence[object] | npt.NDArray[np.object_]],
    spec: WorstSliceGate,
    params: MetricParams,
) -> list[SliceDrop]:
    """Per slice with enough rows: the candidate's metric minus the reference's on that slice
    (the champion's), or minus the candidate's own overall value when there is no champion."""
    metric = get_metric(spec.metric)
    found = slice_metrics(
        y, candidate, groups, [metric.name], min_rows=spec.min_rows, params=params, resamples=0
    )
    if reference is not None:
        baseline = slice_metrics(
            y, reference, groups, [metric.name], min_rows=spec.min_rows, params=params, resamples=0
        )
        against = {
            (s.column, s.value): s.metrics[metric.name].value
            for s in baseline
            if metric.name in s.metrics
        }
    else:
        overall = metric.score(y, candidate, params)
        against = {(s.column, s.value): overall for s in found}
    drops = []
    for result in found:
        key = (result.column, result.value)
        if metric.name in result.metrics and key in against:
            change = float(metric.improvement(result.metrics[metric.name].value - against[key]))
            drops.append(SliceDrop(result.column, result.value, result.rows, change))
    return drops


Scorer = Callable[[Mapping[str, object]], object]
"""Answers one record; what the latency gate times."""

LatencyProbe = Callable[[ModelBundle, str], Scorer]
"""Builds the one-record scorer for a bundle (and its model label). The prediction service
supplies its own predictor, so the gate times what production runs: checks, features, model,
decision. Without one, the bundle's own record path is timed."""


def bundle_scorer(bundle: ModelBundle, _model: str) -> Scorer:
    return lambda record: bundle.score_records([record])


def single_row_p99_ms(scorer: Scorer, records: Sequence[Mapping[str, object]]) -> float:
    """p99 wall time of answering one record at a time, in ms, after a short warm-up."""
    for record in records[:WARMUP_ROWS]:
        scorer(record)
    times = np.empty(len(records), dtype=np.float64)
    for i, record in enumerate(records):
        start = time.perf_counter_ns()
        scorer(record)
        times[i] = (time.perf_counter_ns() - start) / 1e6
    return float(np.percentile(times, 99))
