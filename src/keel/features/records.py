"""The serving entry point: JSON records through the very ``transform`` that training uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from keel.features.frames import records_frame
from keel.features.matrix import FeatureMatrix
from keel.features.pipeline import FeaturePipeline


def transform_records(
    pipeline: FeaturePipeline, records: Sequence[Mapping[str, object]]
) -> FeatureMatrix:
    """Features of JSON-like records: a frame with the training dtypes, then ``transform``.

    Every record must carry every input column (``null`` for a missing value); extra keys are
    ignored. A value of the wrong JSON type raises ``InvalidInput`` naming ``records[i].column``.
    """
    return pipeline.transform(records_frame(records, pipeline.input_schema_))
