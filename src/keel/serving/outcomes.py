"""Outcomes arriving over the API: checked, mapped to numbers, made durable before the 202."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keel.data.target import binary_label
from keel.errors import InvalidInput
from keel.predictions import OutcomeRecord, RecordLog
from keel.serving.service import acknowledged

MAX_OUTCOMES = 10_000


@dataclass
class OutcomeWriter:
    log: RecordLog[OutcomeRecord]
    task: str  # binary | regression
    positive: object
    clock: Callable[[], datetime]

    async def record(self, items: object, *, source: str) -> int:
        """Store every outcome, or none: the first problem is reported with its path."""
        if not isinstance(items, list) or not items:
            raise InvalidInput("expected a non-empty list of outcomes", path="outcomes")
        if len(items) > MAX_OUTCOMES:
            raise InvalidInput(f"at most {MAX_OUTCOMES:,} outcomes per request", path="outcomes")
        now = self.clock()
        records = [self._one(i, item, now, source) for i, item in enumerate(items)]
        await acknowledged(self.log.submit(records))
        return len(records)

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
