"""The ``automation:`` section of keel.yaml: what the agent may do alone, with approval, never.

::

    automation:
      dry_run: false                  # decide and record, change nothing
      triggers:                       # observation -> action, checked in order
        - {when: incident, category: drift, do: retrain}
        - {when: incident, category: slo, min_severity: high, do: rollback}
        - {when: estimated_performance, metric: roc_auc, below: 0.70, do: retrain}
        - {when: new_labels, rows: 5000, do: retrain}
        - {when: schedule, every_days: 7, do: retrain}
        - {when: incident, category: slo, min_severity: high, do: pause_model}
        - {when: override_rate, above: 0.2, do: open_review_items, review_sample: 50}
        - {when: incident, category: quality, do: notify}
      actions:                        # each: auto | needs_approval | forbidden
        retrain: auto                 # train on the latest versions, register, gate
        shadow: auto
        canary: auto
        promote: needs_approval       # the default: a person approves (four-eyes)
        rollback: auto
        pause_model: needs_approval   # the champion stops; the fallback chain answers
        open_review_items: auto       # a seeded sample of its automatic decisions to people
        notify: auto                  # the monitor's webhook: the rule, evidence, champion
      review_sample: 50               # the default sample size of open_review_items
      budgets: {retrains_per_day: 2, canaries_per_week: 3}
      cooldown_minutes: 360           # per model, after any action the agent finished
      canary: {steps: [5, 25, 50], min_requests: 400, false_rollback_rate: 0.01, ...}
      lease_seconds: 60

Every action absent from ``actions`` is ``needs_approval``: nothing runs alone unless the policy
says so. ``promote: auto`` while ``release.approvals`` asks for approvers is refused when the
project loads (``check_against_release``): the agent would skip the four-eyes rule.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from keel.schema import Invalid, Strict


class Mode(StrEnum):
    """How the agent may take one action."""

    AUTO = "auto"
    NEEDS_APPROVAL = "needs_approval"
    FORBIDDEN = "forbidden"


ActionName = Literal[
    "retrain",
    "shadow",
    "canary",
    "promote",
    "rollback",
    "pause_model",
    "open_review_items",
    "notify",
]
ACTIONS: tuple[ActionName, ...] = (
    "retrain",
    "shadow",
    "canary",
    "promote",
    "rollback",
    "pause_model",
    "open_review_items",
    "notify",
)
TriggerAction = Literal["retrain", "rollback", "pause_model", "open_review_items", "notify"]
"""What a trigger may start: a retrain (which flows on to shadow, canary and promotion as the
actions allow), a rollback of the last release change, a pause of the champion (the fallback
chain answers until a person resumes it), review items for a seeded sample of the champion's
recent automatic decisions, or a notice on the monitor's webhook."""


class Actions(Strict):
    """The mode of each action; an unknown action name is refused with its key path."""

    retrain: Mode = Mode.NEEDS_APPROVAL
    shadow: Mode = Mode.NEEDS_APPROVAL
    canary: Mode = Mode.NEEDS_APPROVAL
    promote: Mode = Mode.NEEDS_APPROVAL
    rollback: Mode = Mode.NEEDS_APPROVAL
    pause_model: Mode = Mode.NEEDS_APPROVAL
    open_review_items: Mode = Mode.NEEDS_APPROVAL
    notify: Mode = Mode.NEEDS_APPROVAL

    def mode(self, action: str) -> Mode:
        found: Mode = getattr(self, action)
        return found


class _Sampling(Strict):
    """``review_sample`` of a trigger that may open review items (its ``do``)."""

    review_sample: int | None = Field(default=None, ge=1, le=10_000)
    """How many of the champion's recent automatic decisions ``open_review_items`` sends to
    people (a seeded random sample); unset: ``automation.review_sample``."""

    @model_validator(mode="after")
    def _sample_only_for_review(self) -> _Sampling:
        if self.review_sample is not None and getattr(self, "do", None) != "open_review_items":
            raise Invalid(
                "review_sample is the size of the sample open_review_items sends to people;"
                " this trigger does something else: remove it or set do: open_review_items",
                at="review_sample",
            )
        return self


class IncidentTrigger(_Sampling):
    """An open (or acknowledged) incident of ``category`` at ``min_severity`` or above."""

    when: Literal["incident"]
    category: Literal["drift", "quality", "performance", "slo"]
    min_severity: Literal["low", "medium", "high"] = "low"
    do: TriggerAction

    def describe(self) -> str:
        return f"incident {self.category} (severity >= {self.min_severity}) -> {self.do}"


class EstimatedPerformanceTrigger(_Sampling):
    """The latest chunk's estimated metric (CBPE) has its whole interval below ``below``."""

    when: Literal["estimated_performance"]
    metric: Literal["roc_auc", "accuracy", "precision", "recall", "f1"] = "roc_auc"
    below: float = Field(gt=0, lt=1)
    do: TriggerAction

    def describe(self) -> str:
        return f"estimated {self.metric} interval below {self.below:g} -> {self.do}"


class ScheduleTrigger(Strict):
    """Once per period of ``every_days`` days (counted from the Unix epoch, in UTC)."""

    when: Literal["schedule"]
    every_days: int = Field(ge=1, le=365)
    do: Literal["retrain"]

    def describe(self) -> str:
        return f"every {self.every_days} days -> {self.do}"


class NewLabelsTrigger(Strict):
    """At least ``rows`` labelled rows arrived since the labels the champion was trained on."""

    when: Literal["new_labels"]
    rows: int = Field(ge=1)
    do: Literal["retrain"]

    def describe(self) -> str:
        return f"{self.rows:,} new labelled rows -> {self.do}"


class OverrideRateTrigger(_Sampling):
    """Reviewers change the champion's automatic decisions more often than ``above``.

    The test is exact and one-sided: with ``k`` of ``n`` reviewed automatic decisions changed,
    it fires when P(at least ``k`` of ``n`` | rate ``above``) is at most ``alpha``, once at least
    ``min_reviews`` were reviewed. So a champion whose true override rate is ``above`` or less
    fires it with probability at most ``alpha`` (each time its reviews are read); the trigger
    acts once per champion.

    ``by_segment: true`` tests each segment instead (each value of the decision policy's
    segment column, else of the benchmark's slices: the segments of ``keel review stats``),
    every segment with ``min_reviews`` reviews at ``alpha / k`` for ``k`` such segments
    (Bonferroni), so a champion at or below ``above`` in every segment fires it with
    probability at most ``alpha`` for the family; a rise confined to one segment, which the
    champion-wide rate dilutes, is caught, and the evidence names the segment.
    """

    when: Literal["override_rate"]
    above: float = Field(gt=0, lt=1)
    min_reviews: int = Field(default=50, ge=1)
    alpha: float = Field(default=0.01, gt=0, lt=0.5)
    by_segment: bool = False
    do: TriggerAction

    def describe(self) -> str:
        where = " in a segment" if self.by_segment else ""
        level = f"alpha {self.alpha:g}" + (" over the segments" if self.by_segment else "")
        return f"override rate above {self.above:g}{where} ({level}) -> {self.do}"


Trigger = Annotated[
    IncidentTrigger
    | EstimatedPerformanceTrigger
    | ScheduleTrigger
    | NewLabelsTrigger
    | OverrideRateTrigger,
    Field(discriminator="when"),
]


class Budgets(Strict):
    """Rolling-window limits, reserved in the database before an action starts."""

    retrains_per_day: int = Field(default=2, ge=0, le=100)
    canaries_per_week: int = Field(default=3, ge=0, le=100)

    def limit(self, kind: str) -> tuple[int, int]:
        """``(limit, window in hours)`` of a budgeted kind of action."""
        if kind == "retrain":
            return self.retrains_per_day, 24
        return self.canaries_per_week, 24 * 7


AUC_METRICS = ("estimated_roc_auc", "realized_roc_auc")
"""The canary metrics comparing ranking quality: each arm's ROC AUC, expected from its
calibrated scores (CBPE) or realized on the outcomes arrived so far."""
AUC_MIN_SAMPLE = {"estimated_roc_auc": 400, "realized_roc_auc": 200}


class CanaryMetric(Strict):
    """One metric of the canary analysis: its tolerated effect, the sample it needs, and
    whether a failure vetoes. Its direction is fixed by its name: a higher rate, a slower p99,
    a shift either way, more flips, or a lower ROC AUC than the champion's is harm."""

    name: Literal[
        "error_rate",
        "fallback_rate",
        "latency_p99",
        "score_shift",
        "flip_rate",
        "estimated_roc_auc",
        "realized_roc_auc",
    ]
    margin: float = Field(ge=0)
    """The largest harm tolerated: a rate difference (0.01 = one point), milliseconds of p99,
    a shift of the mean score, a share of flipped decisions, or ROC AUC points (0.01) the
    canary may fall below the champion."""
    critical: bool = True
    min_sample: int | None = Field(default=None, ge=1)
    """Below this many requests in either arm (labelled ones for realized_roc_auc) the metric
    holds, neither passing nor failing. Default: 400 for estimated_roc_auc, 200 for
    realized_roc_auc, none for the others (a rate may fail on any sample)."""

    @property
    def minimum(self) -> int:
        """The sample below which this metric holds (``min_sample`` or its default)."""
        if self.min_sample is not None:
            return self.min_sample
        return AUC_MIN_SAMPLE.get(self.name, 0)


def _default_metrics() -> list[CanaryMetric]:
    return [
        CanaryMetric(name="error_rate", margin=0.01),
        CanaryMetric(name="fallback_rate", margin=0.01),
        CanaryMetric(name="latency_p99", margin=5.0),
        CanaryMetric(name="score_shift", margin=0.05, critical=False),
    ]


class CanaryPolicy(Strict):
    """How a canary is stepped and judged (see ``keel.automation.canary``)."""

    steps: list[float] = Field(default_factory=lambda: [5.0, 25.0, 50.0], min_length=1)
    min_requests: int = Field(default=400, ge=20)
    """Below this many canary requests in a step the verdict is hold, never pass."""
    false_rollback_rate: float = Field(default=0.01, gt=0, le=0.2)
    """The chance that a canary as good as the champion is rolled back, over all its looks."""
    deadline_minutes: int = Field(default=24 * 60, ge=1)
    """A step still on hold after this long is rolled back."""
    metrics: list[CanaryMetric] = Field(default_factory=_default_metrics, min_length=1)

    @model_validator(mode="after")
    def _steps_rise(self) -> CanaryPolicy:
        steps = self.steps
        if any(not 0 < s < 100 for s in steps) or steps != sorted(set(steps)):
            raise Invalid(
                f"canary steps are rising percentages in (0, 100); got {steps}", at="steps"
            )
        return self


class AutomationSpec(Strict):
    """The agent's policy (the module docstring shows the whole section)."""

    enabled: bool = True
    dry_run: bool = False
    triggers: list[Trigger] = Field(default_factory=list)
    actions: Actions = Field(default_factory=Actions)
    budgets: Budgets = Field(default_factory=Budgets)
    cooldown_minutes: int = Field(default=360, ge=0, le=30 * 24 * 60)
    review_sample: int = Field(default=50, ge=1, le=10_000)
    """How many of the champion's recent automatic decisions ``open_review_items`` sends to
    people, unless its trigger says (a random sample, seeded by the action's key)."""
    review_window_days: int = Field(default=7, ge=1, le=365)
    """How far back "recent" reaches for ``open_review_items``."""
    canary: CanaryPolicy = Field(default_factory=CanaryPolicy)
    lease_seconds: int = Field(default=60, ge=5, le=3600)

    def mode(self, action: str) -> Mode:
        return self.actions.mode(action)

    def check_against_release(self, approvals: int) -> None:
        """Refuse ``promote: auto`` while the release policy asks for approvers."""
        if self.actions.promote is Mode.AUTO and approvals > 0:
            raise Invalid(
                f"promote cannot be auto while release.approvals is {approvals}: the agent would"
                " promote without the approvals the release policy requires; set promote to"
                " needs_approval (a person approves the agent's proposal) or approvals to 0",
                at="actions.promote",
            )
