"""The latency gate's probe: time one record through the serving predictor itself.

A release gate that promises "p99 under 5 ms" must time what production runs per request:
contract checks, features, model, decision. Benchmark rows arrive from the row store with
datetimes as objects and the label attached; they are turned into what a client sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from keel.data.contract import DataSchema
from keel.decisions import DecisionPolicy
from keel.models.bundle import ModelBundle
from keel.registry.evidence import LatencyProbe, Scorer
from keel.serving.predictor import Predictor


def predictor_probe(schema: DataSchema, policy: DecisionPolicy) -> LatencyProbe:
    """A probe that builds the serving predictor for each gated model."""

    def probe(bundle: ModelBundle, model: str) -> Scorer:
        predictor = Predictor(bundle, schema=schema, policy=policy, model=model)
        target = schema.target

        def answer(record: Mapping[str, object]) -> object:
            sent = {
                k: v.isoformat() if isinstance(v, date | datetime) else v
                for k, v in record.items()
                if k != target
            }
            return predictor.predict([sent])

        return answer

    return probe
