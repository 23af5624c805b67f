"""Decision KPIs per chunk of the prediction log: what was decided, at what cost, and how often
people overrode it.

- **shares** of each decision, and the **review rate** (the review action) and **defer rate**;
- **expected cost** per record from the calibrated score and ``decisions.costs``, known as soon
  as the prediction is made (the estimate before labels: the same idea as CBPE's expected
  performance, exact for a calibrated score);
- **realized cost** per record on the rows whose outcome has arrived, and how many those are;
- **override rate**: of the chunk's review items settled with an automatic decision to judge,
  the share a person changed (Wilson interval).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from keel.decisions.costs import CostPolicy
from keel.decisions.stats import Proportion, wilson

AMOUNT = "_amount"
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ChunkKpis:
    chunk: str
    start: datetime
    end: datetime
    rows: int
    shares: dict[str, float]
    review_rate: float
    defer_rate: float
    expected_cost: float | None
    realized_cost: float | None
    labelled: int
    override_rate: Proportion

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk": self.chunk,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "shares": self.shares,
            "review_rate": self.review_rate,
            "defer_rate": self.defer_rate,
            "expected_cost": self.expected_cost,
            "realized_cost": self.realized_cost,
            "labelled": self.labelled,
            "override_rate": self.override_rate.to_dict(),
        }


def chunk_kpis(
    chunk: tuple[str, datetime, datetime, pl.DataFrame],
    *,
    costs: CostPolicy | None,
    review_action: str,
    overridden: Mapping[str, bool],
) -> ChunkKpis:
    """The KPIs of one chunk (columns ``prediction_id``, ``score``, ``decision``, ``label``
    and, for costs with an amount, ``_amount``); ``overridden`` maps the prediction ids of
    settled review items with an automatic decision to whether a person changed it."""
    label, start, end, frame = chunk
    n = frame.height
    counts = frame["decision"].fill_null("").value_counts()
    shares = {str(k): c / n for k, c in counts.iter_rows() if k} if n else {}
    expected, realized, labelled = _costs(frame, costs)
    mine = [overridden[i] for i in frame["prediction_id"].to_list() if i in overridden]
    return ChunkKpis(
        chunk=label,
        start=start,
        end=end,
        rows=n,
        shares=shares,
        review_rate=shares.get(review_action, 0.0),
        defer_rate=shares.get("defer", 0.0),
        expected_cost=expected,
        realized_cost=realized,
        labelled=labelled,
        override_rate=wilson(sum(mine), len(mine)),
    )


def _costs(frame: pl.DataFrame, costs: CostPolicy | None) -> tuple[float | None, float | None, int]:
    """Expected cost per priced record, realized cost per labelled one, and how many those are."""
    if costs is None:
        return None, None, int(frame["label"].is_not_null().sum())
    expected, realized = cost_rows(frame, costs)
    if not expected.size:
        return None, None, 0
    return (
        float(expected.mean()),
        float(realized.mean()) if realized.size else None,
        int(realized.size),
    )


def cost_rows(frame: pl.DataFrame, costs: CostPolicy) -> tuple[F64, F64]:
    """Each priced record's expected cost, and each labelled priced record's realized cost."""
    index = {action: i for i, action in enumerate(costs.actions)}
    codes = (
        frame["decision"].replace_strict(index, default=-1, return_dtype=pl.Int64).fill_null(-1)
    ).to_numpy()
    scores = frame["score"].fill_null(np.nan).to_numpy()
    amounts = frame[AMOUNT].fill_null(np.nan).to_numpy() if AMOUNT in frame.columns else None
    keep = (codes >= 0) & np.isfinite(scores)
    if amounts is not None:
        keep &= np.isfinite(amounts)
    if not keep.any():
        return np.empty(0), np.empty(0)
    chosen, amount = codes[keep], None if amounts is None else amounts[keep]
    expected = costs.expected(scores[keep], amount)[np.arange(chosen.size), chosen]
    labels = frame["label"].fill_null(np.nan).to_numpy()[keep]
    known = np.isfinite(labels)
    part = None if amount is None else amount[known]
    realized = costs.realized(chosen[known], labels[known], part)
    return np.asarray(expected, dtype=np.float64), np.asarray(realized, dtype=np.float64)
