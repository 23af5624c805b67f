"""The prediction log: one row per answer the prediction service gave (and per shadow score),
on the durable segment log (``segment_log.py`` explains the durability and the layout)."""

from __future__ import annotations

import polars as pl

from keel.predictions.records import PredictionRecord
from keel.store.tables.segment_log import SegmentLog, TableSpec

PREDICTIONS = TableSpec(
    schema={
        "request_id": pl.String(),
        "prediction_id": pl.String(),
        "time": pl.Datetime("us", "UTC"),
        "model": pl.String(),
        "entity_id": pl.String(),
        "inputs": pl.String(),
        "score": pl.Float64(),
        "decision": pl.String(),
        "explanation": pl.List(pl.Struct({"column": pl.String(), "value": pl.Float64()})),
        "ood": pl.List(pl.String()),
        "fallback": pl.String(),
        "latency_ms": pl.Float64(),
        "route": pl.String(),
        "policy": pl.String(),
    },
    json=("inputs",),
    order=("time", "prediction_id"),
)
"""The prediction table; ``inputs`` is the request record as JSON text (decode it with
``pl.col("inputs").str.json_decode(...)`` and the contract's types)."""


class PredictionLog(SegmentLog[PredictionRecord]):
    """The prediction table of one project (see the module docstring)."""

    TABLE = PREDICTIONS
