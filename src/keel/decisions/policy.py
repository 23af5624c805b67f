"""``DecisionPolicy``: the ``decisions:`` section of keel.yaml, validated when it is loaded.

```yaml
decisions:
  thresholds: {approve: "< 0.20", review: "0.20..0.45", decline: ">= 0.45"}
  ood: review                                  # out-of-distribution records get this action
  fallback: [previous_champion, baseline, defer]
```

``thresholds`` is optional (a regression model may serve scores alone); ``ood`` needs it and must
name one of its actions; ``fallback`` is the chain the service walks when the champion cannot
answer, ending, if at all, in ``defer``: a decision that says "no model decided this".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from keel.decisions.thresholds import F64, ThresholdPolicy
from keel.errors import ConfigError

FallbackStep = Literal["previous_champion", "baseline", "defer"]
DEFER = "defer"
DEFAULT_FALLBACK: tuple[FallbackStep, ...] = ("previous_champion", "baseline", "defer")
_KEYS = ("thresholds", "ood", "fallback")


@dataclass(frozen=True)
class DecisionPolicy:
    """Score -> action, with the out-of-distribution override and the fallback chain."""

    thresholds: ThresholdPolicy | None = None
    ood_action: str | None = None
    fallback: tuple[FallbackStep, ...] = DEFAULT_FALLBACK

    @classmethod
    def parse(cls, section: Mapping[str, Any] | None) -> DecisionPolicy:
        """Validate a ``decisions:`` mapping; every error names its key path."""
        body = dict(section or {})
        unknown = sorted(set(body) - set(_KEYS))
        if unknown:
            raise ConfigError(
                f"decisions.{unknown[0]} is not a known key; known keys are {', '.join(_KEYS)}.",
                path=f"decisions.{unknown[0]}",
            )
        raw = body.get("thresholds")
        thresholds = None if raw is None else ThresholdPolicy.parse(raw)
        return cls(thresholds, _ood_action(body.get("ood"), thresholds), _fallback(body))

    @property
    def actions(self) -> tuple[str, ...]:
        """Every decision this policy can give, ``defer`` last when the chain ends in it."""
        named = self.thresholds.actions if self.thresholds else ()
        return (*named, DEFER) if DEFER in self.fallback else named

    def decide(self, score: float, *, ood: bool = False) -> str | None:
        """The action for one score (``None`` without thresholds)."""
        if self.thresholds is None:
            return None
        if ood and self.ood_action is not None:
            return self.ood_action
        return self.thresholds.decide(score)

    def decide_many(self, scores: F64, ood: Sequence[bool] | None = None) -> list[str | None]:
        """``decide`` for many scores at once (vectorized over the scores)."""
        if self.thresholds is None:
            return [None] * len(scores)
        actions = np.asarray(self.thresholds.actions, dtype=object)
        decided: list[str | None] = actions[self.thresholds.indices(scores)].tolist()
        if ood is not None and self.ood_action is not None:
            decided = [self.ood_action if flag else d for d, flag in zip(decided, ood, strict=True)]
        return decided


def _ood_action(value: object, thresholds: ThresholdPolicy | None) -> str | None:
    if value is None:
        return None
    known = thresholds.actions if thresholds else ()
    if value not in known:
        raise ConfigError(
            f"decisions.ood must name one of the threshold actions ({', '.join(known) or 'none'});"
            f" got {value!r}.",
            path="decisions.ood",
            hint="Out-of-distribution records get one of the actions the thresholds give.",
        )
    return str(value)


def _fallback(body: Mapping[str, Any]) -> tuple[FallbackStep, ...]:
    steps = body.get("fallback", DEFAULT_FALLBACK)
    allowed = get_args(FallbackStep)
    if not isinstance(steps, list | tuple) or not steps:
        raise ConfigError(
            f"decisions.fallback must be a list drawn from {', '.join(allowed)}; got {steps!r}.",
            path="decisions.fallback",
        )
    for index, step in enumerate(steps):
        path = f"decisions.fallback[{index}]"
        if step not in allowed:
            raise ConfigError(
                f"{path} must be one of {', '.join(allowed)}; got {step!r}.", path=path
            )
        if step in steps[:index]:
            raise ConfigError(f"{path}: {step!r} appears twice in the chain.", path=path)
        if step == DEFER and index != len(steps) - 1:
            raise ConfigError(
                f"{path}: 'defer' always answers, so it must be the last step.", path=path
            )
    return tuple(steps)
