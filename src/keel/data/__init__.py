"""Data contracts and their validation: what every batch must look like, and why rows fail.

Pure domain code: frames in, frames and reports out; no file, database or network I/O.

The names below load on first use, so that importing one light module of the package (the
contract, which keel.yaml's typed models use) does not import Polars and NumPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.data.batch_checks import (
        check_against_profile,
        check_columns,
        check_ids,
        check_reject_fraction,
        check_timestamps,
        likely_rename,
    )
    from keel.data.contract import ColumnSpec, ColumnType, Contract, DataSchema
    from keel.data.infer import infer_column, infer_contract, render_contract
    from keel.data.labels import (
        LabelCoverage,
        LabelJoin,
        LabelRateShift,
        find_conflicts,
        join_labels,
        label_coverage,
        label_rate_shift,
    )
    from keel.data.profile import ColumnProfile, Profile, profile_column, profile_frame
    from keel.data.reasons import (
        REASON_DTYPE,
        REASONS_COLUMN,
        ROW_COLUMN,
        BatchCode,
        BatchReason,
        RowCode,
    )
    from keel.data.row_checks import ColumnObservation, Progress, RowResult, check_rows
    from keel.data.validation import BatchReport, validate_batch

_HOMES = {
    "check_against_profile": "batch_checks",
    "check_columns": "batch_checks",
    "check_ids": "batch_checks",
    "check_reject_fraction": "batch_checks",
    "check_timestamps": "batch_checks",
    "likely_rename": "batch_checks",
    "ColumnSpec": "contract",
    "ColumnType": "contract",
    "Contract": "contract",
    "DataSchema": "contract",
    "infer_column": "infer",
    "infer_contract": "infer",
    "render_contract": "infer",
    "LabelCoverage": "labels",
    "LabelJoin": "labels",
    "LabelRateShift": "labels",
    "find_conflicts": "labels",
    "join_labels": "labels",
    "label_coverage": "labels",
    "label_rate_shift": "labels",
    "ColumnProfile": "profile",
    "Profile": "profile",
    "profile_column": "profile",
    "profile_frame": "profile",
    "REASON_DTYPE": "reasons",
    "REASONS_COLUMN": "reasons",
    "ROW_COLUMN": "reasons",
    "BatchCode": "reasons",
    "BatchReason": "reasons",
    "RowCode": "reasons",
    "ColumnObservation": "row_checks",
    "Progress": "row_checks",
    "RowResult": "row_checks",
    "check_rows": "row_checks",
    "BatchReport": "validation",
    "validate_batch": "validation",
}

__all__ = [
    "REASONS_COLUMN",
    "REASON_DTYPE",
    "ROW_COLUMN",
    "BatchCode",
    "BatchReason",
    "BatchReport",
    "ColumnObservation",
    "ColumnProfile",
    "ColumnSpec",
    "ColumnType",
    "Contract",
    "DataSchema",
    "LabelCoverage",
    "LabelJoin",
    "LabelRateShift",
    "Profile",
    "Progress",
    "RowCode",
    "RowResult",
    "check_against_profile",
    "check_columns",
    "check_ids",
    "check_reject_fraction",
    "check_rows",
    "check_timestamps",
    "find_conflicts",
    "infer_column",
    "infer_contract",
    "join_labels",
    "label_coverage",
    "label_rate_shift",
    "likely_rename",
    "profile_column",
    "profile_frame",
    "render_contract",
    "validate_batch",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'keel.data' has no attribute {name!r}")
    return getattr(importlib.import_module(f"keel.data.{home}"), name)
