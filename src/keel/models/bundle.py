"""A model bundle: feature pipeline + estimator + calibrator, the unit that is stored and served.

Stored as four content-addressed blobs (pipeline JSON, model text, calibrator JSON, and a manifest
naming the other three by sha256). The manifest's sha256 is the model's checksum: equal checksums
mean byte-identical pipelines, models and calibrators. Loading verifies every blob.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import polars as pl

from keel.errors import IntegrityError, InvalidInput
from keel.features import FeatureMatrix, FeaturePipeline, transform_records
from keel.models.calibration import Calibrator
from keel.models.estimator import F64, Estimator, Task
from keel.models.factory import load_estimator
from keel.models.ports import ArtifactStore

FORMAT = 1


@dataclass(frozen=True)
class Explanation:
    """Contributions per input column (features derived from one column summed), plus the bias."""

    columns: tuple[str, ...]
    values: F64  # (rows, columns)
    bias: F64  # (rows,)

    def top(self, row: int, k: int) -> list[tuple[str, float]]:
        """The ``k`` largest contributions of one row by magnitude, as (column, value)."""
        order = np.argsort(-np.abs(self.values[row]), kind="stable")[:k]
        return [(self.columns[i], float(self.values[row, i])) for i in order]


@dataclass(frozen=True)
class ModelBundle:
    """Everything needed to turn input rows into scores, and to explain them."""

    task: Task
    pipeline: FeaturePipeline
    estimator: Estimator
    calibrator: Calibrator
    signature: Mapping[str, str]

    def features(self, frame: pl.DataFrame) -> FeatureMatrix:
        return self.pipeline.transform(frame)

    def score_matrix(self, matrix: FeatureMatrix) -> F64:
        """Calibrated probability (binary) or value (regression) for a feature matrix."""
        raw = self.estimator.predict(matrix.values)
        return self.calibrator.apply(raw) if self.task == "binary" else raw

    def score(self, frame: pl.DataFrame) -> F64:
        return self.score_matrix(self.features(frame))

    def score_records(self, records: Sequence[Mapping[str, object]]) -> F64:
        """The serving path: JSON records through the same pipeline code as training."""
        return self.score_matrix(transform_records(self.pipeline, records))

    def explain(self, frame: pl.DataFrame) -> Explanation:
        return self.explain_matrix(self.features(frame))

    def explain_matrix(self, matrix: FeatureMatrix) -> Explanation:
        """Contributions in the raw score (log-odds for binary), summed per input column."""
        raw = self.estimator.contributions(matrix.values)
        sources = [matrix.source_columns[name] for name in matrix.names]
        columns = tuple(dict.fromkeys(sources))
        index = {column: i for i, column in enumerate(columns)}
        summed = np.zeros((raw.shape[0], len(columns)))
        for j, source in enumerate(sources):
            summed[:, index[source]] += raw[:, j]
        return Explanation(columns, summed, raw[:, -1])

    def importance(self, names: Sequence[str] | None = None) -> dict[str, float]:
        """Global importance per input column (gain or |coefficient|, summed over its features)."""
        values = self.estimator.importance()
        feature_names = names or self.pipeline.feature_names_
        totals: dict[str, float] = {}
        sources = self.pipeline.source_columns_
        for name, value in zip(feature_names, values, strict=True):
            column = sources.get(name, name)
            totals[column] = totals.get(column, 0.0) + float(value)
        return dict(sorted(totals.items(), key=lambda item: -item[1]))

    def save(self, store: ArtifactStore) -> str:
        """Store the parts and the manifest; returns the manifest's sha256 (the checksum)."""
        manifest = {
            "format": FORMAT,
            "task": self.task,
            "kind": self.estimator.kind,
            "pipeline": store.put(_json(self.pipeline.to_dict())),
            "model": store.put(self.estimator.to_bytes()),
            "calibrator": store.put(_json(self.calibrator.to_dict())),
            "signature": dict(self.signature),
        }
        return store.put(_json(manifest))


def load_bundle(store: ArtifactStore, digest: str) -> ModelBundle:
    """Load and verify a stored bundle; a changed byte anywhere raises ``IntegrityError``."""
    manifest = _load_json(store.get(digest), what="model manifest")
    if manifest.get("format") != FORMAT:
        raise IntegrityError(f"model {digest[:12]} has unknown format {manifest.get('format')!r}")
    task: Task = manifest["task"]
    return ModelBundle(
        task=task,
        pipeline=FeaturePipeline.from_dict(
            _load_json(store.get(manifest["pipeline"]), what="pipeline")
        ),
        estimator=load_estimator(manifest["kind"], task, store.get(manifest["model"])),
        calibrator=Calibrator.from_dict(
            _load_json(store.get(manifest["calibrator"]), what="calibrator")
        ),
        signature=manifest["signature"],
    )


def _json(value: Any) -> bytes:
    """Deterministic JSON that keeps key order: a pipeline's column order is part of its meaning."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def _load_json(data: bytes, *, what: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the stored {what} is not JSON", path="model") from exc
