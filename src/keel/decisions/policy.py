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

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
from pydantic import Field, field_validator, model_validator

from keel.decisions.costs import CostPolicy, CostsSpec
from keel.decisions.kpi_limits import KpiLimitsSpec
from keel.decisions.review import ReviewSpec
from keel.decisions.thresholds import F64, PATH, ThresholdPolicy
from keel.errors import ConfigError, InvalidInput
from keel.schema import Invalid, Strict, validate_section

FallbackStep = Literal["previous_champion", "baseline", "defer"]
DEFER = "defer"
DEFAULT_FALLBACK: tuple[FallbackStep, ...] = ("previous_champion", "baseline", "defer")
OOD_HINT = "Out-of-distribution records get one of the actions the thresholds give."


class ConstraintsSpec(Strict):
    """``decisions.constraints``: limits ``keel decisions tune`` keeps to. The review rate is the
    share of records given the middle action (review), the approval rate the share given the
    low-score action (approve)."""

    max_review_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    min_approval_rate: float = Field(default=0.0, ge=0.0, le=1.0)


class RiskControlSpec(Strict):
    """``decisions.risk_control``: tune a review band so that automatic decisions are wrong at
    most ``max_error_rate`` of the time, with probability ``confidence`` (Learn then Test on the
    frozen benchmark set; ``keel.decisions.risk_control``)."""

    max_error_rate: float = Field(gt=0.0, lt=1.0)
    confidence: float = Field(default=0.9, gt=0.0, lt=1.0)


class SegmentRuleSpec(Strict):
    """How one segment decides instead of the project-wide rule: thresholds or costs."""

    thresholds: dict[str, str] | None = None
    costs: CostsSpec | None = None

    @field_validator("thresholds")
    @classmethod
    def _tile(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None:
            _threshold_policy(value)
        return value

    @model_validator(mode="after")
    def _decides(self) -> SegmentRuleSpec:
        if self.thresholds is None and self.costs is None:
            raise Invalid("give the segment's thresholds or costs.", at="")
        return self


class SegmentsSpec(Strict):
    """``decisions.segments``: per-segment overrides, chosen by a contract column's value."""

    column: str
    overrides: dict[str, SegmentRuleSpec] = Field(min_length=1)


DECIDING = ("thresholds", "costs", "ood", "fallback", "segments")
"""The keys of ``decisions:`` that decide a prediction (the digest covers these)."""


class DecisionsSpec(Strict):
    """The ``decisions:`` section as written; ``policy()`` is what the service decides with."""

    thresholds: dict[str, str] | None = None
    costs: CostsSpec | None = None
    ood: str | None = None
    fallback: tuple[str, ...] = Field(default=DEFAULT_FALLBACK, validate_default=False)
    review: ReviewSpec = Field(default_factory=ReviewSpec)
    constraints: ConstraintsSpec = Field(default_factory=ConstraintsSpec)
    risk_control: RiskControlSpec | None = None
    segments: SegmentsSpec | None = None
    kpi_limits: KpiLimitsSpec | None = None

    def deciding(self) -> dict[str, Any]:
        """The deciding keys (``DECIDING``) as JSON-ready values, in the order written: what a
        released policy version stores, and what its digest covers."""
        return self.model_dump(mode="json", include=set(DECIDING))

    def with_deciding(self, deciding: Mapping[str, Any]) -> DecisionsSpec:
        """This section with another policy's deciding keys (a released version's), keeping
        its own review, constraints, risk control and KPI limits: those belong to the
        project, not to the policy that decides."""
        kept = self.model_dump(mode="json", exclude=set(DECIDING), exclude_none=True)
        merged: DecisionsSpec = validate_section(
            DecisionsSpec, {**deciding, **kept}, section="decisions"
        )
        return merged

    def digest(self) -> str:
        """What identifies the decisions this section makes, for each logged prediction: the
        first 16 hex digits of the sha256 of its deciding keys (``DECIDING``) as compact JSON,
        in the order they are written (the order of ``costs.actions`` breaks ties, so it is
        part of the policy). Review, constraints, risk control and KPI limits decide nothing
        about a single prediction, so changing them leaves the digest as it was."""
        canonical = json.dumps(self.deciding(), separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @field_validator("thresholds")
    @classmethod
    def _tile(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None:
            _threshold_policy(value)
        return value

    @field_validator("fallback", mode="before")
    @classmethod
    def _chain(cls, steps: object) -> tuple[str, ...]:
        allowed = get_args(FallbackStep)
        if not isinstance(steps, list | tuple) or not steps:
            raise Invalid(f"must be a list drawn from {', '.join(allowed)}; got {steps!r}.")
        for index, step in enumerate(steps):
            _check_step(step, index, steps, allowed)
        return tuple(steps)

    @model_validator(mode="after")
    def _ood_is_an_action(self) -> DecisionsSpec:
        if self.thresholds is not None and self.costs is not None:
            priced = set(self.costs.actions)
            for action in self.thresholds:
                if action not in priced:
                    raise Invalid(
                        f"the thresholds decide {action!r}, which decisions.costs does not price;"
                        " give it a cost for each outcome.",
                        at=f"thresholds.{action}",
                    )
        self._check_segments()
        self._check_kpi_limits()
        if self.ood is None:
            return self
        known = tuple(self.costs.actions) if self.costs else ()
        known = _threshold_policy(self.thresholds).actions if self.thresholds else known
        if self.ood not in known:
            raise Invalid(
                f"must name one of the threshold actions ({', '.join(known) or 'none'});"
                f" got {self.ood!r}. {OOD_HINT}",
                at="ood",
            )
        return self

    def _check_segments(self) -> None:
        """Overrides need a project-wide rule to override, decide only its actions, and read
        the same amount column."""
        if self.segments is None:
            return
        if self.thresholds is None and self.costs is None:
            raise Invalid(
                "overrides need project-wide thresholds or costs to override.", at="segments"
            )
        base = _rule(self.thresholds, self.costs)
        for value, spec in self.segments.overrides.items():
            at = f"segments.overrides.{value}"
            rule = _rule(spec.thresholds, spec.costs)
            extra = [a for a in rule.actions if a not in base.actions]
            if extra:
                raise Invalid(
                    f"decides {', '.join(map(repr, extra))}, which the project-wide rule does not"
                    f" ({', '.join(base.actions)}); a segment chooses among the same actions.",
                    at=at,
                )
            if rule.amount_column not in (None, base.amount_column):
                raise Invalid(
                    f"reads the amount column {rule.amount_column!r}; the project-wide costs read"
                    f" {base.amount_column!r}. Every segment prices with the same column.",
                    at=f"{at}.costs.amount",
                )

    def _check_kpi_limits(self) -> None:
        """A share limit must name an action the policy can give."""
        if self.kpi_limits is None:
            return
        known = set(self.policy().actions) if self.thresholds or self.costs else set()
        for action in self.kpi_limits.shares:
            if action not in known:
                raise Invalid(
                    f"{action!r} is not an action of this policy"
                    f" ({', '.join(sorted(known)) or 'it decides nothing'}).",
                    at=f"kpi_limits.shares.{action}",
                )

    def policy(self) -> DecisionPolicy:
        """The validated section as the policy the service decides with."""
        thresholds = None if self.thresholds is None else ThresholdPolicy.parse(self.thresholds)
        steps: tuple[FallbackStep, ...] = self.fallback  # type: ignore[assignment] # checked
        costs = self.costs.policy() if self.costs else None
        segments = None
        if self.segments is not None:
            rules = {
                value: replace(
                    _rule(spec.thresholds, spec.costs), ood_action=self.ood, fallback=steps
                )
                for value, spec in self.segments.overrides.items()
            }
            segments = Segments(self.segments.column, rules)
        return DecisionPolicy(thresholds, self.ood, steps, costs, segments)


def _rule(thresholds: dict[str, str] | None, costs: CostsSpec | None) -> DecisionPolicy:
    """A rule of thresholds or costs (an override, or the project-wide one to compare with)."""
    return DecisionPolicy(
        None if thresholds is None else ThresholdPolicy.parse(thresholds),
        costs=costs.policy() if costs else None,
    )


def _probability(score: float) -> float:
    if not 0.0 <= score <= 1.0:
        raise _not_a_probability(score)
    return score


def _probability_all(scores: F64) -> None:
    outside = ~((scores >= 0.0) & (scores <= 1.0))
    if outside.any():
        raise _not_a_probability(float(scores[np.argmax(outside)]))


def _not_a_probability(score: float) -> InvalidInput:
    return InvalidInput(
        f"a score must be a probability from 0 to 1 to be decided; got {score!r}.",
        path="score",
        hint="Cost decisions apply to calibrated probabilities.",
    )


def _threshold_policy(thresholds: Mapping[str, str]) -> ThresholdPolicy:
    """The threshold policy, its refusal (a gap, an overlap) raised at the entry it names."""
    try:
        return ThresholdPolicy.parse(thresholds)
    except ConfigError as exc:
        at = (exc.path or PATH).removeprefix(PATH).removeprefix(".")
        message = exc.message.removeprefix(f"{exc.path}: ").removeprefix(f"{PATH}: ")
        raise Invalid(message, at=at) from None


def _check_step(step: object, index: int, steps: Sequence[object], allowed: Sequence[str]) -> None:
    if step not in allowed:
        raise Invalid(f"must be one of {', '.join(allowed)}; got {step!r}.", at=f"[{index}]")
    if step in steps[:index]:
        raise Invalid(f"{step!r} appears twice in the chain.", at=f"[{index}]")
    if step == DEFER and index != len(steps) - 1:
        raise Invalid("'defer' always answers, so it must be the last step.", at=f"[{index}]")


@dataclass(frozen=True)
class Segments:
    """Per-segment rules: a record whose ``column`` holds one of ``rules``' keys is decided by
    that rule (the project-wide out-of-distribution action and fallback still apply)."""

    column: str
    rules: Mapping[str, DecisionPolicy]


@dataclass(frozen=True)
class DecisionPolicy:
    """Score -> action, with the out-of-distribution override and the fallback chain."""

    thresholds: ThresholdPolicy | None = None
    ood_action: str | None = None
    fallback: tuple[FallbackStep, ...] = DEFAULT_FALLBACK
    costs: CostPolicy | None = None
    segments: Segments | None = None

    @property
    def decides(self) -> bool:
        """Whether this policy turns scores into actions (by thresholds or by costs)."""
        return self.thresholds is not None or self.costs is not None

    def _costs(self) -> CostPolicy:
        if self.costs is None:  # pragma: no cover - callers check ``decides`` first
            raise ConfigError("this decision policy has neither thresholds nor costs")
        return self.costs

    @property
    def amount_column(self) -> str | None:
        """The record column deciding reads: a cost policy's amount (none when thresholds
        decide and the costs only price), here or in a segment's rule."""
        if self.costs and self.thresholds is None:
            return self.costs.amount
        rules = self.segments.rules.values() if self.segments else ()
        return next((r.amount_column for r in rules if r.amount_column), None)

    @property
    def segment_column(self) -> str | None:
        """The record column whose value picks a segment's rule, if any."""
        return self.segments.column if self.segments else None

    @classmethod
    def parse(cls, section: Mapping[str, Any] | DecisionsSpec | None) -> DecisionPolicy:
        """Validate a ``decisions:`` mapping (or take the section ``keel.config`` typed when the
        project opened); every problem names its key path."""
        spec: DecisionsSpec = (
            section
            if isinstance(section, DecisionsSpec)
            else validate_section(DecisionsSpec, section, section="decisions")
        )
        return spec.policy()

    @property
    def actions(self) -> tuple[str, ...]:
        """Every decision this policy can give, ``defer`` last when the chain ends in it."""
        named = self.thresholds.actions if self.thresholds else ()
        named = self.costs.actions if self.costs else named
        return (*named, DEFER) if DEFER in self.fallback else named

    def decide(
        self,
        score: float,
        *,
        ood: bool = False,
        amount: float | None = None,
        segment: object = None,
    ) -> str | None:
        """The action for one score (``None`` without thresholds or costs); a cost policy with
        an amount column needs the record's ``amount``, segment overrides its ``segment``."""
        if not self.decides:
            return None
        if ood and self.ood_action is not None:
            return self.ood_action
        if self.segments is not None and segment is not None:
            rule = self.segments.rules.get(str(segment))
            if rule is not None:
                return rule.decide(score, amount=amount)
        if self.thresholds is not None:
            return self.thresholds.decide(score)
        costs = self._costs()
        amounts = None if amount is None else np.array([amount], dtype=np.float64)
        index = int(costs.indices(np.array([_probability(score)]), amounts)[0])
        return costs.actions[index]

    def decide_many(
        self,
        scores: F64,
        ood: Sequence[bool] | npt.NDArray[np.bool_] | None = None,
        amounts: F64 | None = None,
        segments: Sequence[object] | None = None,
    ) -> list[str | None]:
        """``decide`` for many scores at once (vectorized over the scores, then per segment)."""
        if not self.decides:
            return [None] * len(scores)
        if self.segments is not None and segments is not None:
            return self._by_segment(scores, ood, amounts, segments, self.segments)
        return self._decide_all(scores, ood, amounts)

    def _by_segment(
        self,
        scores: F64,
        ood: Sequence[bool] | npt.NDArray[np.bool_] | None,
        amounts: F64 | None,
        segments: Sequence[object],
        spec: Segments,
    ) -> list[str | None]:
        decided = np.asarray(self._decide_all(scores, None, amounts), dtype=object)
        values = np.asarray([None if v is None else str(v) for v in segments], dtype=object)
        for value, rule in spec.rules.items():
            rows = np.flatnonzero(values == value)
            if rows.size:
                part = None if amounts is None else amounts[rows]
                decided[rows] = rule.decide_many(scores[rows], amounts=part)
        if ood is not None and self.ood_action is not None:
            decided = np.where(np.asarray(ood, dtype=bool), self.ood_action, decided)
        found: list[str | None] = decided.tolist()
        return found

    def _decide_all(
        self,
        scores: F64,
        ood: Sequence[bool] | npt.NDArray[np.bool_] | None,
        amounts: F64 | None,
    ) -> list[str | None]:
        if self.thresholds is not None:
            actions = np.asarray(self.thresholds.actions, dtype=object)
            index = self.thresholds.indices(scores)
        else:
            costs = self._costs()
            _probability_all(scores)
            actions = np.asarray(costs.actions, dtype=object)
            index = costs.indices(scores, amounts)
        chosen = actions[index]
        if ood is not None and self.ood_action is not None:
            chosen = np.where(np.asarray(ood, dtype=bool), self.ood_action, chosen)
        decided: list[str | None] = chosen.tolist()
        return decided
