"""Limits on the decision KPIs of each monitored chunk, judged with intervals.

```yaml
decisions:
  kpi_limits:
    confidence: 0.95                 # of each KPI's interval
    review_rate: {max: 0.25}
    override_rate: {max: 0.2}
    expected_cost: {max: 900}        # per record, in the units of decisions.costs
    shares: {approve: {min: 0.4}}    # any action's share
```

A chunk breaches a limit only when the data leave no reasonable doubt: for a rate (a share, the
override rate), an exact one-sided binomial test against the limit at level
``(1 - confidence) / 2`` (a Wilson interval wholly beyond the limit alarmed in 3.8% of chunks at
the limit where 2.5% was meant, so the decision uses the exact tail, and the interval is shown);
for a mean cost, its normal interval wholly beyond the limit. So when the true value sits exactly
at a limit, a chunk raises a false alarm with probability at most ``(1 - confidence) / 2`` per KPI
(2.5% at 0.95; for costs, as far as the normal approximation holds), and less the further inside
it is; a chunk too small to tell raises none. ``tests/unit/decisions/test_kpi_limits.py`` checks
both rates by simulation. Breaches have the category ``decisions`` and open incidents like any
check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import Field, model_validator

from keel.decisions.costs import CostPolicy
from keel.decisions.kpis import AMOUNT, chunk_kpis, cost_rows
from keel.decisions.stats import wilson
from keel.monitoring.incidents import Breach
from keel.schema import Invalid, Strict

if TYPE_CHECKING:  # the monitor's checks load only when a monitor run needs them
    from keel.monitoring.monitor import Chunk

CATEGORY = "decisions"


class Limit(Strict):
    """A lower and/or upper limit of one KPI."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Limit:
        if self.min is None and self.max is None:
            raise Invalid("give min, max or both.", at="")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise Invalid(f"min {self.min} is above max {self.max}.", at="min")
        return self


class KpiLimitsSpec(Strict):
    """``decisions.kpi_limits`` (see the module docstring)."""

    confidence: float = Field(default=0.95, ge=0.5, lt=1.0)
    review_rate: Limit | None = None
    defer_rate: Limit | None = None
    override_rate: Limit | None = None
    expected_cost: Limit | None = None
    realized_cost: Limit | None = None
    shares: dict[str, Limit] = Field(default_factory=dict)


@dataclass(frozen=True)
class Estimate:
    """A KPI of one chunk with its interval and the number of rows it rests on."""

    value: float
    low: float
    high: float
    n: int
    hits: int | None = None
    """For a rate: how many of the ``n`` rows count (the exact test uses it)."""

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}

    def beyond(self, limit: Limit, confidence: float) -> float | None:
        """The limit this estimate is beyond with the stated confidence, or None."""
        from scipy.special import bdtr  # noqa: PLC0415 - only monitor runs judge limits

        alpha = (1 - confidence) / 2
        if self.hits is None:  # a mean: its interval wholly beyond the limit
            if limit.max is not None and self.low > limit.max:
                return limit.max
            if limit.min is not None and self.high < limit.min:
                return limit.min
            return None
        above = 1.0 - float(bdtr(self.hits - 1, self.n, limit.max)) if limit.max is not None else 1
        if limit.max is not None and self.hits > 0 and above <= alpha:
            return limit.max
        below = float(bdtr(self.hits, self.n, limit.min)) if limit.min is not None else 1.0
        if limit.min is not None and below <= alpha:
            return limit.min
        return None


@dataclass(frozen=True)
class DecisionKpiCheck:
    """The decision KPIs of every monitored chunk, stored with its results, and the limits
    they breach (a ``ChunkCheck`` of ``keel.monitoring.monitor``)."""

    costs: CostPolicy | None
    review_action: str
    overridden: Mapping[str, bool]
    """Prediction id of each settled review item with an automatic decision -> overridden."""
    limits: KpiLimitsSpec | None = None
    name: str = CATEGORY

    def check(self, chunk: Chunk) -> tuple[dict[str, Any], list[Breach]]:
        frame = chunk.frame
        amount = self.costs.amount if self.costs else None
        if amount is not None and amount in frame.columns:
            frame = frame.with_columns(pl.col(amount).cast(pl.Float64).alias(AMOUNT))
        kpis = chunk_kpis(
            (chunk.label, chunk.start, chunk.end, frame),
            costs=self.costs,
            review_action=self.review_action,
            overridden=self.overridden,
        )
        confidence = self.limits.confidence if self.limits else 0.95
        found = self._estimates(frame, confidence)
        results = {
            **kpis.to_dict(),
            "confidence": confidence,
            "intervals": {k: v.to_dict() for k, v in found.items()},
        }
        return results, self._breaches(chunk.label, found)

    def _estimates(self, frame: pl.DataFrame, confidence: float) -> dict[str, Estimate]:
        n = frame.height
        found: dict[str, Estimate] = {}
        counts = dict(frame["decision"].fill_null("").value_counts().iter_rows())
        for action in {self.review_action, "defer", *(self.limits.shares if self.limits else ())}:
            rate = wilson(int(counts.get(action, 0)), n, confidence)
            if rate.value is not None and rate.low is not None and rate.high is not None:
                name = {self.review_action: "review_rate", "defer": "defer_rate"}.get(action)
                hits = int(counts.get(action, 0))
                estimate = Estimate(rate.value, rate.low, rate.high, n, hits)
                found[f"shares.{action}"] = estimate
                if name:
                    found[name] = estimate
        mine = [
            self.overridden[i] for i in frame["prediction_id"].to_list() if i in self.overridden
        ]
        override = wilson(sum(mine), len(mine), confidence)
        if override.value is not None and override.low is not None and override.high is not None:
            found["override_rate"] = Estimate(
                override.value, override.low, override.high, len(mine), sum(mine)
            )
        if self.costs is not None:
            expected, realized = cost_rows(frame, self.costs)
            for name, rows in (("expected_cost", expected), ("realized_cost", realized)):
                if rows.size > 1:
                    found[name] = _mean(rows, confidence)
        return found

    def _breaches(self, chunk: str, found: Mapping[str, Estimate]) -> list[Breach]:
        if self.limits is None:
            return []
        limits: dict[str, Limit] = {
            name: limit
            for name in ("review_rate", "defer_rate", "override_rate", "expected_cost")
            if (limit := getattr(self.limits, name)) is not None
        }
        if self.limits.realized_cost is not None:
            limits["realized_cost"] = self.limits.realized_cost
        limits.update({f"shares.{a}": limit for a, limit in self.limits.shares.items()})
        breaches = []
        for name, limit in limits.items():
            estimate = found.get(name)
            if estimate is None:
                continue
            crossed = estimate.beyond(limit, self.limits.confidence)
            if crossed is not None:
                side = "above" if crossed == limit.max else "below"
                message = f"{_shown(name, estimate)}: {side} the limit {_value(name, crossed)}"
                breaches.append(Breach(CATEGORY, name, estimate.value, crossed, chunk, message))
        return breaches


def _mean(rows: npt.NDArray[np.float64], confidence: float) -> Estimate:
    mean = float(rows.mean())
    half = NormalDist().inv_cdf(0.5 + confidence / 2) * float(rows.std(ddof=1)) / np.sqrt(rows.size)
    return Estimate(mean, mean - half, mean + half, int(rows.size))


def _value(name: str, value: float) -> str:
    return f"{value:,.2f}" if name.endswith("_cost") else f"{value:.1%}"


def _shown(name: str, estimate: Estimate) -> str:
    label = name.replace("shares.", "share of ").replace("_", " ")
    return (
        f"{label} {_value(name, estimate.value)} [{_value(name, estimate.low)},"
        f" {_value(name, estimate.high)}] on {estimate.n:,} rows"
    )
