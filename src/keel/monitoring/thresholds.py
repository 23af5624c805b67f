"""How alert levels are set: calibrated on the reference (the default) or fixed.

**Calibrated.** Each statistic's threshold is the level that stationary chunks of the current
chunk's size would exceed with probability ``false_alarm_rate / k``, ``k`` being the number of
statistics checked on the column: a column, whichever statistics flag it, then raises a false
alarm on at most about ``false_alarm_rate`` of stationary chunks (Bonferroni; the statistics are
correlated, so the real rate is lower). The level comes from ``resamples`` simulated chunks of
the reference (``keel.monitoring.null``), each scored against a simulated reference, so it
carries both samples' noise and grows tighter as chunks grow: large chunks see small drifts.

**Fixed.** Each statistic's conventional level: 0.1 for PSI, Jensen-Shannon and normalized
Wasserstein (Evidently's defaults), the classical p < 0.05 tests for KS and chi-square.
A fixed level blind to chunk size misses small drifts in large chunks and alarms on noise in
small ones; it is there for comparison with other tools and for hand-set limits.

``fixed`` values override single statistics under either method.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from keel.errors import InvalidInput

Method = Literal["calibrated", "fixed"]
METHODS: tuple[Method, ...] = ("calibrated", "fixed")


@dataclass(frozen=True)
class ThresholdPolicy:
    """How a drift detector sets each statistic's alert level (see the module docstring)."""

    method: Method = "calibrated"
    false_alarm_rate: float = 0.01
    resamples: int = 2000
    seed: int = 0
    fixed: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidInput(
                f"threshold method must be one of {list(METHODS)}; got {self.method!r}",
                path="threshold.method",
            )
        if not 0.0 < self.false_alarm_rate < 0.5:
            raise InvalidInput(
                "false_alarm_rate must lie in (0, 0.5), e.g. 0.01 for 1% of stationary chunks;"
                f" got {self.false_alarm_rate!r}",
                path="threshold.false_alarm_rate",
            )
        if isinstance(self.resamples, bool) or not isinstance(self.resamples, int):
            raise InvalidInput("resamples must be an integer", path="threshold.resamples")
        if self.resamples < 100:
            raise InvalidInput(
                f"resamples must be at least 100; got {self.resamples}",
                path="threshold.resamples",
            )
        for name, value in self.fixed.items():
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InvalidInput(
                    f"a fixed threshold must be a number >= 0; got {value!r} for {name!r}",
                    path=f"threshold.fixed.{name}",
                )

    def alpha(self, statistics: int) -> float:
        """The false-alarm rate of one statistic on a column checked by ``statistics`` of them."""
        return self.false_alarm_rate / max(statistics, 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what a run records."""
        return {
            "method": self.method,
            "false_alarm_rate": self.false_alarm_rate,
            "resamples": self.resamples,
            "seed": self.seed,
            "fixed": dict(self.fixed),
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> ThresholdPolicy:
        """Inverse of ``to_dict``; missing keys take their defaults."""
        known = {"method", "false_alarm_rate", "resamples", "seed", "fixed"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise InvalidInput(
                f"unknown threshold setting {unknown[0]!r}; expected some of {sorted(known)}",
                path=f"threshold.{unknown[0]}",
            )
        return cls(**{**body, "fixed": dict(body.get("fixed", {}))})
