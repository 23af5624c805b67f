"""Data contracts and their validation: what every batch must look like, and why rows fail.

Pure domain code: frames in, frames and reports out; no file, database or network I/O.
"""

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
