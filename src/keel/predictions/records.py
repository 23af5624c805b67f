"""The records of the prediction and outcome logs: what was answered, and what came back.

Plain frozen values that the prediction service makes and the logs in ``keel.store.tables``
write; each knows its own JSON row (times as microseconds since the epoch, as the logs store them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from keel.errors import InvalidInput

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class Loggable(Protocol):
    """A record a log can write: it knows its own JSON row."""

    def to_row(self) -> dict[str, Any]: ...


def microseconds(moment: datetime) -> int:
    """A timezone-aware time as microseconds since the epoch (how rows carry times)."""
    if moment.tzinfo is None:
        raise InvalidInput(
            f"log times must be timezone-aware; got {moment.isoformat()}.",
            path="time",
            hint="Use datetime.now(UTC).",
        )
    return (moment - _EPOCH) // _MICROSECOND


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One logged prediction: what was asked, what was answered, by which model, how fast."""

    request_id: str
    prediction_id: str
    time: datetime
    model: str | None
    """The model version label; None when no model answered (a deferred decision)."""
    entity_id: str
    inputs: Mapping[str, object]
    score: float | None
    decision: str | None
    explanation: Sequence[tuple[str, float]] | None = None
    ood: Sequence[str] = ()
    fallback: str | None = None
    """Why a fallback answered (the champion raised, timed out, or could not load)."""
    latency_ms: float | None = None
    route: str | None = None
    """Which release route produced it: champion, canary, or shadow (logged, never served)."""
    policy: str | None = None
    """The digest of the decision policy that decided it (``DecisionsSpec.digest``)."""

    def to_row(self) -> dict[str, Any]:
        """The JSON row written to the log."""
        explanation = None
        if self.explanation is not None:
            explanation = [{"column": c, "value": v} for c, v in self.explanation]
        return {
            "request_id": self.request_id,
            "prediction_id": self.prediction_id,
            "time": microseconds(self.time),
            "model": self.model,
            "entity_id": self.entity_id,
            "inputs": self.inputs,
            "score": self.score,
            "decision": self.decision,
            "explanation": explanation,
            "ood": list(self.ood),
            "fallback": self.fallback,
            "latency_ms": self.latency_ms,
            "route": self.route,
            "policy": self.policy,
        }


@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    """A label or a reviewer's decision for one prediction, or for every prediction of an entity."""

    time: datetime
    prediction_id: str | None = None
    entity_id: str | None = None
    label: float | None = None
    decision: str | None = None
    """What a person decided (e.g. a reviewer approving a case the model sent to review)."""
    source: str | None = None
    """Who or what reported it: a user, a service, a batch of labels."""

    def __post_init__(self) -> None:
        if self.prediction_id is None and self.entity_id is None:
            raise InvalidInput(
                "an outcome must name a prediction id or an entity id.", path="prediction_id"
            )
        if self.label is None and self.decision is None:
            raise InvalidInput("an outcome must carry a label or a decision.", path="label")

    def to_row(self) -> dict[str, Any]:
        """The JSON row written to the log."""
        return {
            "prediction_id": self.prediction_id,
            "entity_id": self.entity_id,
            "time": microseconds(self.time),
            "label": self.label,
            "decision": self.decision,
            "source": self.source,
        }
