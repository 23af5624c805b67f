"""Deciding the scores of a table's rows: the policy reads the record columns it declares (a
cost policy's amount, the column that picks a segment's rule) from the table."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from keel.decisions.policy import DecisionPolicy


def decide_frame(
    policy: DecisionPolicy, scores: npt.NDArray[np.float64], frame: pl.DataFrame
) -> list[str | None]:
    """``policy.decide_many`` for ``scores`` of ``frame``'s rows, in order."""
    amount, segment = policy.amount_column, policy.segment_column
    amounts = frame[amount].cast(pl.Float64).to_numpy() if amount else None
    segments = frame[segment].to_list() if segment and segment in frame.columns else None
    return policy.decide_many(scores, amounts=amounts, segments=segments)
