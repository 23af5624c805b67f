"""What the agent would start now, and why: the policy's triggers matched against what the
monitor observed. Pure: the observations come in, the decisions go out, nothing is changed.

A decision carries an idempotency key derived from its evidence (``retrain:incident:7``,
``retrain:estimated:2026-01-03:roc_auc``): the same incident or chunk never starts two actions,
however many ticks see it. Only numbers and enumerated names of Keel's own records reach a
decision; text from data (column names, category strings, webhook answers) never picks one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from keel.automation.policy import (
    AutomationSpec,
    EstimatedPerformanceTrigger,
    IncidentTrigger,
    Mode,
    NewLabelsTrigger,
    OverrideRateTrigger,
    ScheduleTrigger,
)

SEVERITIES = ("low", "medium", "high")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Observed:
    """An open incident, as the planner needs it."""

    seq: int
    category: str
    severity: str
    title: str


@dataclass(frozen=True)
class Estimate:
    """One estimated metric of the latest monitored chunk, with its interval."""

    chunk: str
    metric: str
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Labels:
    """The latest labels version and the labelled rows added since the champion's training."""

    version: int
    new_rows: int


@dataclass(frozen=True)
class SegmentOverrides:
    """The champion's reviewed automatic decisions in one segment (a value of a segment
    column), and how many a person changed."""

    column: str
    value: str
    reviewed: int
    overridden: int


@dataclass(frozen=True)
class Overrides:
    """The champion's reviewed automatic decisions, and how many a person changed; per segment
    when a trigger asks for them."""

    model: str
    reviewed: int
    overridden: int
    segments: tuple[SegmentOverrides, ...] = ()


@dataclass(frozen=True)
class Observations:
    """Everything the triggers look at, read once per pass."""

    incidents: Sequence[Observed] = ()
    estimates: Sequence[Estimate] = ()
    labels: Labels | None = None
    now: datetime | None = None
    overrides: Overrides | None = None


@dataclass(frozen=True)
class Decision:
    """An action a trigger asks for, with the rule that fired and the evidence."""

    key: str
    kind: str  # retrain | rollback | pause_model | open_review_items | notify
    rule: str
    mode: Mode
    dry_run: bool
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "action": self.kind,
            "rule": self.rule,
            "mode": "dry_run" if self.dry_run else self.mode.value,
            "evidence": self.evidence,
        }


def plan(
    policy: AutomationSpec, observed: Observations, *, answered: Iterable[str] = ()
) -> list[Decision]:
    """Every decision the triggers ask for, in policy order, without the keys already answered."""
    seen = set(answered)
    found: list[Decision] = []
    for index, trigger in enumerate(policy.triggers):
        rule = f"automation.triggers[{index}]: {trigger.describe()}"
        extra: dict[str, Any] = {}
        if trigger.do == "open_review_items":
            sample = getattr(trigger, "review_sample", None) or policy.review_sample
            extra = {"review_sample": sample, "window_days": policy.review_window_days}
        for key, evidence in _matches(trigger, observed):
            if key in seen:
                continue
            seen.add(key)
            mode = policy.mode(trigger.do)
            decision = Decision(key, trigger.do, rule, mode, policy.dry_run, {**evidence, **extra})
            found.append(decision)
    return found


def override_p_value(overridden: int, reviewed: int, limit: float) -> float:
    """P(X >= ``overridden``) for X ~ Binomial(``reviewed``, ``limit``): the exact one-sided
    p-value of "the override rate is at most ``limit``"."""
    from scipy.stats import binom  # noqa: PLC0415 - only a pass with this trigger needs SciPy

    return float(binom.sf(overridden - 1, reviewed, limit))


def _matches(  # noqa: PLR0911 - one branch per kind of trigger
    trigger: IncidentTrigger
    | EstimatedPerformanceTrigger
    | ScheduleTrigger
    | NewLabelsTrigger
    | OverrideRateTrigger,
    observed: Observations,
) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(trigger, OverrideRateTrigger):
        found = observed.overrides
        if found is not None and trigger.by_segment:
            return _segment_override_matches(trigger, found)
        if found is None or found.reviewed < trigger.min_reviews:
            return []
        p_value = override_p_value(found.overridden, found.reviewed, trigger.above)
        if p_value > trigger.alpha:
            return []
        evidence = {
            "model": found.model,
            "reviewed": found.reviewed,
            "overridden": found.overridden,
            "rate": found.overridden / found.reviewed,
            "above": trigger.above,
            "p_value": p_value,
            "alpha": trigger.alpha,
        }
        return [(f"{trigger.do}:override:{found.model}", evidence)]
    if isinstance(trigger, ScheduleTrigger):
        if observed.now is None:
            return []
        period = (observed.now - EPOCH).days // trigger.every_days
        evidence = {"period": period, "every_days": trigger.every_days}
        return [(f"{trigger.do}:schedule:{trigger.every_days}d:{period}", evidence)]
    if isinstance(trigger, NewLabelsTrigger):
        labels = observed.labels
        if labels is None or labels.new_rows < trigger.rows:
            return []
        evidence = {"labels_version": labels.version, "new_rows": labels.new_rows}
        return [(f"{trigger.do}:labels:v{labels.version}", evidence)]
    incidents, estimates = observed.incidents, observed.estimates
    if isinstance(trigger, IncidentTrigger):
        floor = SEVERITIES.index(trigger.min_severity)
        return [
            (
                f"{trigger.do}:incident:{incident.seq}",
                {
                    "incident": incident.seq,
                    "category": incident.category,
                    "severity": incident.severity,
                    "title": incident.title,
                },
            )
            for incident in incidents
            if incident.category == trigger.category
            and SEVERITIES.index(incident.severity) >= floor
        ]
    return [
        (
            f"{trigger.do}:estimated:{e.chunk}:{e.metric}",
            {
                "chunk": e.chunk,
                "metric": e.metric,
                "estimate": e.value,
                "interval": [e.low, e.high],
                "floor": trigger.below,
            },
        )
        for e in estimates
        if e.metric == trigger.metric and e.high < trigger.below
    ]


SHOWN_VALUE = 80
"""Characters of a segment's value an evidence shows (the value is text from the data)."""


def _segment_override_matches(
    trigger: OverrideRateTrigger, found: Overrides
) -> list[tuple[str, dict[str, Any]]]:
    """Each segment with ``min_reviews`` reviews tested at ``alpha / k`` (Bonferroni over the
    ``k`` tested); the evidence names every segment that fired. The key is the champion's, as
    for the champion-wide test: one action per champion, whichever segments fire."""
    tested = [s for s in found.segments if s.reviewed >= trigger.min_reviews]
    if not tested:
        return []
    level = trigger.alpha / len(tested)
    fired: list[tuple[float, dict[str, Any]]] = []
    for segment in tested:
        p_value = override_p_value(segment.overridden, segment.reviewed, trigger.above)
        if p_value <= level:
            fired.append(
                (
                    p_value,
                    {
                        "column": segment.column,
                        "segment": segment.value[:SHOWN_VALUE],
                        "reviewed": segment.reviewed,
                        "overridden": segment.overridden,
                        "rate": segment.overridden / segment.reviewed,
                        "p_value": p_value,
                    },
                )
            )
    if not fired:
        return []
    evidence = {
        "model": found.model,
        "by_segment": True,
        "segments": [body for _, body in sorted(fired, key=lambda f: f[0])],
        "segments_tested": len(tested),
        "level": level,
        "above": trigger.above,
        "alpha": trigger.alpha,
    }
    return [(f"{trigger.do}:override:{found.model}", evidence)]


def estimates_of(chunk: str, results: Mapping[str, Any]) -> list[Estimate]:
    """The estimated metrics of one stored chunk result (``results["estimated"]``)."""
    metrics = (results.get("estimated") or {}).get("metrics") or {}
    found = []
    for name, body in metrics.items():
        try:
            found.append(
                Estimate(
                    chunk, str(name), float(body["value"]), float(body["low"]), float(body["high"])
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # an estimate without an interval cannot fire a trigger
    return found
