"""Per-record out-of-distribution flags, from what the fitted feature pipeline learned.

A model says nothing reliable about a record unlike any it was trained on, so each record is
flagged, and the decision policy may send flagged records to a person (``decisions.ood``):

- ``out_of_range``: a numeric feature (an input or a derived one, on the pipeline's log scale
  where it takes logs) lies outside the training clip bounds (the ``clip_quantiles``, 0.1% and
  99.9% by default) by more than ``margin`` times the distance between them. A feature the
  pipeline does not clip has no bounds and is never flagged.
- ``unseen_category``: a category value that is not a level learned in training. With
  ``unseen: other`` the pipeline does not store the levels it folded for being rare, so those
  count as unseen too.
- ``too_many_missing``: more than ``max_missing`` of the record's input columns are null.

The defaults keep the rate on data like the training data low: of 50,000 fresh simulated loan
applications from the training distribution, 0.2% were flagged (with margin 0: 1.5%; 0.1: 0.4%).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from keel.errors import InvalidInput
from keel.features import FeaturePipeline
from keel.serving.encoding import Encoded, RecordEncoder, Records

OodCode = Literal["out_of_range", "unseen_category", "too_many_missing"]


@dataclass(frozen=True)
class OodFlag:
    """Why a record looks unlike the training data; ``column`` is None for missing values."""

    code: OodCode
    column: str | None = None

    def __str__(self) -> str:
        return self.code if self.column is None else f"{self.code}:{self.column}"


@dataclass(frozen=True)
class OodLimits:
    """How far from the training data a record may be before it is flagged."""

    margin: float = 0.25
    """Beyond the clip bounds by this fraction of the distance between them: out of range."""
    max_missing: float = 0.25
    """More than this share of the input columns null: too many missing."""

    def __post_init__(self) -> None:
        if not self.margin >= 0.0 or not 0.0 <= self.max_missing <= 1.0:
            raise InvalidInput(
                f"OOD limits need margin >= 0 and 0 <= max_missing <= 1; got {self}.",
                path="ood",
            )


class OodDetector:
    """Flags records against one pipeline's learned state; build once per model."""

    def __init__(self, pipeline: FeaturePipeline, limits: OodLimits | None = None) -> None:
        self.limits = limits or OodLimits()
        self.encoder = RecordEncoder(pipeline)
        states = pipeline.numeric_
        low = np.array([s.low for s in states], dtype=np.float64)
        high = np.array([s.high for s in states], dtype=np.float64)
        with np.errstate(invalid="ignore"):  # inf - inf: an unclipped feature, no bounds
            slack = np.nan_to_num((high - low) * self.limits.margin, nan=0.0, posinf=0.0)
        self.low, self.high = low - slack, high + slack
        self._lows, self._highs = self.low.tolist(), self.high.tolist()
        self.inputs = len(self.encoder.inputs) + len(self.encoder.categorical_names)

    def flag_records(self, records: Records) -> list[tuple[OodFlag, ...]]:
        """Flags per record (an empty tuple: like the training data)."""
        return self.flags(self.encoder.encode(records))

    def flags(self, encoded: Encoded) -> list[tuple[OodFlag, ...]]:
        """Flags per record of records already encoded by this pipeline's encoder.

        Whole-block tests come first, so that the usual case (nothing odd) costs a handful of
        NumPy calls whatever the number of records.
        """
        rows = len(encoded.numeric)
        if rows == 1:
            return [self._one(encoded)]
        outside = (encoded.numeric < self.low) | (encoded.numeric > self.high)
        if outside.any():
            outside &= ~encoded.missing  # a missing value (NaN, or inf from x / 0) is not a range
        crowded = self._crowded(encoded)
        if not (outside.any() or encoded.unseen.any() or crowded.any()):
            return [()] * rows
        odd = outside.any(axis=1) | encoded.unseen.any(axis=1) | crowded
        found: list[tuple[OodFlag, ...]] = [()] * rows
        for row in np.flatnonzero(odd).tolist():
            found[row] = self._row(outside[row], encoded.unseen[row], bool(crowded[row]))
        return found

    def _one(self, encoded: Encoded) -> tuple[OodFlag, ...]:
        """The same tests for a single record, in Python: a dozen comparisons cost less than
        the dozen NumPy calls of the block path (a test checks that both flag alike)."""
        missing = encoded.missing[0].tolist()
        outside = [
            not gap and not low <= value <= high
            for value, gap, low, high in zip(
                encoded.numeric[0].tolist(), missing, self._lows, self._highs, strict=True
            )
        ]
        unseen = encoded.unseen[0].tolist()
        nulls = sum(missing[: len(self.encoder.inputs)]) + sum(encoded.absent[0].tolist())
        crowded = nulls > self.limits.max_missing * self.inputs
        if not (crowded or any(outside) or any(unseen)):
            return ()
        return self._row(outside, unseen, crowded)

    def _crowded(self, encoded: Encoded) -> npt.NDArray[np.bool_]:
        """Rows with more than ``max_missing`` of their inputs null."""
        inputs = encoded.missing[:, : len(self.encoder.inputs)]
        if not (inputs.any() or encoded.absent.any()):
            return np.zeros(len(inputs), dtype=np.bool_)
        nulls = inputs.sum(axis=1) + encoded.absent.sum(axis=1)
        crowded: npt.NDArray[np.bool_] = nulls > self.limits.max_missing * self.inputs
        return crowded

    def _row(
        self, outside: Sequence[bool], unseen: Sequence[bool], crowded: bool
    ) -> tuple[OodFlag, ...]:
        numeric, categorical = self.encoder.numeric_names, self.encoder.categorical_names
        flags = [OodFlag("out_of_range", numeric[j]) for j in np.flatnonzero(outside).tolist()]
        flags += [
            OodFlag("unseen_category", categorical[j]) for j in np.flatnonzero(unseen).tolist()
        ]
        if crowded:
            flags.append(OodFlag("too_many_missing"))
        return tuple(flags)
