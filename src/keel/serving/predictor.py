"""The data-plane predictor: records -> checks -> features -> model -> decision, in process.

No web framework and no I/O: the HTTP service, shadow scoring and batch scoring all call it. One
predictor serves one model version; build it once when the model loads (it compiles the checks,
the encoder and the out-of-distribution bounds) and call it from any number of threads: it
keeps no state between calls.

Features come from ``RecordEncoder``, bit-identical to the bundle's own pipeline (the training
path). A model that raises or returns a score that is not a probability raises ``ModelError``,
which the service answers by walking the fallback chain, never with a 500.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keel.data.contract import DataSchema
from keel.decisions import DecisionPolicy
from keel.decisions.costs import amounts_of
from keel.errors import ConfigError, KeelError
from keel.features import FeatureMatrix
from keel.models.bundle import ModelBundle
from keel.models.estimator import F64
from keel.serving.checks import RecordChecker, Records
from keel.serving.encoding import Encoded
from keel.serving.ood import OodDetector, OodFlag, OodLimits

Contribution = tuple[str, float]
ONE_THREAD_ROWS = 64
_FLOAT_MAX = sys.float_info.max
"""Up to this many records, LightGBM scores on one thread (see ``Predictor._model_scores``)."""


@dataclass(frozen=True, slots=True)
class Prediction:
    """One record's answer."""

    entity_id: str
    score: float
    decision: str | None
    model: str
    """The model version label, e.g. ``loan-default/v4``."""
    ood: tuple[OodFlag, ...] = ()
    explanation: tuple[Contribution, ...] | None = None
    """Top contributions (input column, log-odds for binary models), largest magnitude first."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: OOD flags as ``code:column`` text, contributions as pairs."""
        return {
            "entity_id": self.entity_id,
            "score": self.score,
            "decision": self.decision,
            "model": self.model,
            "ood": [str(flag) for flag in self.ood],
            "explanation": None
            if self.explanation is None
            else [list(c) for c in self.explanation],
        }


class ModelError(KeelError):
    """The model gave no usable score: it raised, or returned NaN or a non-probability."""


class Predictor:
    """Scores records with one model version under one project's contract and decisions."""

    def __init__(
        self,
        bundle: ModelBundle,
        *,
        schema: DataSchema,
        policy: DecisionPolicy,
        model: str,
        limits: OodLimits | None = None,
    ) -> None:
        _check_compatible(bundle, schema, policy, model)
        self.bundle = bundle
        self.policy = policy
        self.model = model
        self.checker = RecordChecker(schema)
        self.detector = OodDetector(bundle.pipeline, limits)
        self.encoder = self.detector.encoder
        self.entity = self.checker.entity

    def deciding(self, policy: DecisionPolicy) -> Predictor:
        """This loaded model deciding under ``policy`` (a released decision policy): a shallow
        copy sharing the model, so a policy change never reloads or re-verifies it."""
        if policy is self.policy:
            return self
        if policy.decides and self.bundle.task != "binary":
            raise ConfigError(
                f"the decision policy needs probabilities, but model {self.model} is a"
                f" {self.bundle.task} model.",
                path="decisions.thresholds",
            )
        twin = copy.copy(self)
        twin.policy = policy
        return twin

    def check(self, records: object) -> Records:
        """``records`` if they pass the contract; else raises ``InvalidRecords`` (HTTP 422)."""
        return self.checker.check(records)

    def predict(self, records: object, *, explain: int = 0) -> list[Prediction]:
        """Check, then ``predict_checked``."""
        return self.predict_checked(self.check(records), explain=explain)

    def predict_checked(self, records: Records, *, explain: int = 0) -> list[Prediction]:
        """Predictions for records that passed ``check`` (by this or an equal contract), with
        the ``explain`` largest contributions of each when ``explain`` > 0."""
        encoded, scores = self._score(records)
        values = self._checked(scores)
        flags = self.detector.flags(encoded)
        decisions = self._decide(scores, values, flags, records)
        top = self._explain(encoded.matrix, explain) if explain > 0 else None
        entity, model = self.entity, self.model
        return [
            Prediction(
                entity_id=str(record[entity]),
                score=score,
                decision=decisions[i],
                model=model,
                ood=flags[i],
                explanation=None if top is None else top[i],
            )
            for i, (record, score) in enumerate(zip(records, values, strict=True))
        ]

    def _score(self, records: Records) -> tuple[Encoded, F64]:
        """Features and scores; whatever goes wrong in there is the model's failure."""
        try:
            encoded = self.encoder.encode(records)
            scores = self.bundle.score_matrix(encoded.matrix)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise ModelError(f"model {self.model} failed to score: {reason}") from exc
        return encoded, scores

    def _checked(self, scores: F64) -> list[float]:
        """The scores as floats, if each is a probability (binary) or finite; NaN fails both."""
        values: list[float] = scores.tolist()
        low, high = (0.0, 1.0) if self.bundle.task == "binary" else (-_FLOAT_MAX, _FLOAT_MAX)
        for row, value in enumerate(values):
            if not low <= value <= high:
                raise ModelError(f"model {self.model} gave records[{row}] the score {value!r}")
        return values

    def _decide(
        self,
        scores: F64,
        values: list[float],
        flags: Sequence[tuple[OodFlag, ...]],
        records: Records,
    ) -> list[str | None]:
        column, by = self.policy.amount_column, self.policy.segment_column
        if len(values) == 1:  # one record: a Python walk over the bounds beats NumPy's setup
            amount = float(records[0][column]) if column else None  # type: ignore[arg-type]
            segment = records[0].get(by) if by else None
            return [
                self.policy.decide(values[0], ood=bool(flags[0]), amount=amount, segment=segment)
            ]
        amounts = amounts_of(records, column) if column else None
        segments = [record.get(by) for record in records] if by else None
        return self.policy.decide_many(scores, [bool(f) for f in flags], amounts, segments)

    def _explain(self, matrix: FeatureMatrix, k: int) -> list[tuple[Contribution, ...]]:
        explanation = self.bundle.explain_matrix(matrix)
        return [tuple(explanation.top(row, k)) for row in range(matrix.shape[0])]


def _check_compatible(
    bundle: ModelBundle, schema: DataSchema, policy: DecisionPolicy, model: str
) -> None:
    """Refuse at load, not per request, a model this project cannot serve."""
    declared = set(schema.specs)
    lacking = [name for name in bundle.pipeline.columns if name not in declared]
    if lacking:
        raise ConfigError(
            f"model {model} reads {', '.join(map(repr, lacking))}, which the contract does not"
            " declare, so requests cannot carry them.",
            path="contract.columns",
            hint="Declare the columns again, or serve a model trained on the current contract.",
        )
    if policy.decides and bundle.task != "binary":
        raise ConfigError(
            f"decisions.thresholds and decisions.costs need probabilities, but model {model} is"
            f" a {bundle.task}"
            " model.",
            path="decisions.thresholds",
            hint="Remove the thresholds, or serve a binary model.",
        )


def _pairs(contributions: tuple[Contribution, ...]) -> list[list[str | float]]:
    return [[column, value] for column, value in contributions]
