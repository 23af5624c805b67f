"""Declarative feature pipeline: the one code path from input columns to a model's matrix.

Pure domain code: Polars frames and JSON records in, a float64 matrix out; no I/O. Configured by
the ``features:`` section of keel.yaml (``FeatureSpec``), fitted on training data, stored as JSON
(``to_dict``) and reloaded for serving (``from_dict``), where ``transform_records`` feeds JSON
records through the same ``transform`` that training used.
"""

from keel.features.categorical import OTHER, CategoricalState
from keel.features.columns import feature_columns
from keel.features.errors import NotFittedError
from keel.features.expressions import Expression, compile_expression
from keel.features.matrix import FeatureMatrix
from keel.features.numeric import INDICATOR_SUFFIX, NumericState
from keel.features.pipeline import FeaturePipeline
from keel.features.records import transform_records
from keel.features.spec import (
    CategoricalSpec,
    ColumnKind,
    Encoding,
    FeatureSpec,
    ModelKind,
    NumericSpec,
)

__all__ = [
    "INDICATOR_SUFFIX",
    "OTHER",
    "CategoricalSpec",
    "CategoricalState",
    "ColumnKind",
    "Encoding",
    "Expression",
    "FeatureMatrix",
    "FeaturePipeline",
    "FeatureSpec",
    "ModelKind",
    "NotFittedError",
    "NumericSpec",
    "NumericState",
    "compile_expression",
    "feature_columns",
    "transform_records",
]
