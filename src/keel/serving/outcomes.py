"""Outcomes arriving over the API: checked, mapped to numbers, made durable before the 202.

The answer counts the outcomes that name a prediction (or an entity) the prediction log holds
(``matched``) and those that do not yet (``unmatched``, with their ids). Unmatched outcomes are
stored all the same: the join happens when the logs are read, so an outcome joins its
prediction as soon as that prediction is in the log (logged later, or shipped by another
replica), for as long as both logs are kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keel.data.target import binary_label
from keel.errors import InvalidInput
from keel.predictions import OutcomeRecord, RecordLog
from keel.serving.service import acknowledged

log = logging.getLogger("keel.serving")

MAX_OUTCOMES = 10_000
SHOWN_UNMATCHED = 100
"""At most this many unmatched ids are listed in an answer (all are counted)."""

Matcher = Callable[[Collection[str], Collection[str]], tuple[set[str], set[str]]]
"""Given prediction ids and entity ids, those the prediction log holds (see
``keel.store.tables.outcome_log.matched``)."""


@dataclass(frozen=True)
class Recorded:
    """What ``OutcomeWriter.record`` stored, and how many of them match a logged prediction."""

    accepted: int
    matched: int | None  # None: the prediction log could not be read to tell
    unmatched: list[str] = field(default_factory=list)  # the ids of the unmatched outcomes

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"accepted": self.accepted, "matched": self.matched}
        if self.matched is None:
            body["unmatched"] = None
            return body
        body["unmatched"] = self.accepted - self.matched
        if self.unmatched:
            body["unmatched_ids"] = self.unmatched[:SHOWN_UNMATCHED]
            body["note"] = (
                "unmatched outcomes are kept; each joins its prediction once that prediction "
                "is in the prediction log"
            )
        return body


@dataclass
class OutcomeWriter:
    log: RecordLog[OutcomeRecord]
    task: str  # binary | regression
    positive: object
    clock: Callable[[], datetime]
    matcher: Matcher | None = None

    async def record(self, items: object, *, source: str) -> Recorded:
        """Store every outcome, or none: the first problem is reported with its path. Then
        count those that match a logged prediction (stored either way)."""
        if not isinstance(items, list) or not items:
            raise InvalidInput("expected a non-empty list of outcomes", path="outcomes")
        if len(items) > MAX_OUTCOMES:
            raise InvalidInput(f"at most {MAX_OUTCOMES:,} outcomes per request", path="outcomes")
        now = self.clock()
        records = [self._one(i, item, now, source) for i, item in enumerate(items)]
        await acknowledged(self.log.submit(records))
        if self.matcher is None:
            return Recorded(len(records), None)
        try:
            unmatched = await asyncio.to_thread(self._unmatched, self.matcher, records)
        except Exception as error:  # stored already: only the count is unknown
            log.warning("could not read the prediction log to match outcomes: %s", error)
            return Recorded(len(records), None)
        return Recorded(len(records), len(records) - len(unmatched), unmatched)

    @staticmethod
    def _unmatched(matcher: Matcher, records: list[OutcomeRecord]) -> list[str]:
        """The ids of the outcomes whose prediction (or entity) the log does not hold."""
        ids = {r.prediction_id for r in records if r.prediction_id is not None}
        entities = {r.entity_id for r in records if r.prediction_id is None and r.entity_id}
        found_ids, found_entities = matcher(ids, entities)
        missing: list[str] = []
        for r in records:
            if r.prediction_id is not None:
                if r.prediction_id not in found_ids:
                    missing.append(r.prediction_id)
            elif r.entity_id not in found_entities:
                missing.append(f"entity:{r.entity_id}")
        return missing

    def _one(self, index: int, item: object, now: datetime, source: str) -> OutcomeRecord:
        path = f"outcomes[{index}]"
        if not isinstance(item, dict):
            raise InvalidInput("expected an object", path=path)
        unknown = sorted(set(item) - {"id", "prediction_id", "entity_id", "label", "decision"})
        if unknown:
            raise InvalidInput("unknown field", path=f"{path}.{unknown[0]}")
        prediction = item.get("id", item.get("prediction_id"))
        entity = item.get("entity_id")
        for name, value in (("id", prediction), ("entity_id", entity)):
            if value is not None and not isinstance(value, str | int):
                raise InvalidInput("expected a string", path=f"{path}.{name}")
        if prediction is None and entity is None:
            raise InvalidInput("give the prediction 'id' or the 'entity_id'", path=f"{path}.id")
        decision = item.get("decision")
        if decision is not None and not isinstance(decision, str):
            raise InvalidInput("expected a string", path=f"{path}.decision")
        label = self._label(item.get("label"), f"{path}.label")
        if label is None and decision is None:
            raise InvalidInput("give a 'label' or a reviewer's 'decision'", path=f"{path}.label")
        return OutcomeRecord(
            time=now,
            prediction_id=str(prediction) if prediction is not None else None,
            entity_id=str(entity) if entity is not None else None,
            label=label,
            decision=decision,
            source=source,
        )

    def _label(self, value: Any, path: str) -> float | None:
        if value is None:
            return None
        if self.task == "binary":
            return binary_label(value, self.positive, path=path)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"expected a number, got {value!r}", path=path)
        return float(value)
