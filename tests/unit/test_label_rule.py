"""One label rule: training, the outcomes API, ``keel labels ingest`` and monitoring agree on
what the positive class is, for every kind of ``target.positive`` (issue 12, point 4).

Each case gives the target's ``positive`` and labels as a producer writes them, in the column
type a file gives and as JSON values over the API, with the 0/1 every path must read.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
import polars as pl
import pytest

from keel.data.labels import label_rate_shift
from keel.data.target import binary_label, is_positive
from keel.errors import InvalidInput
from keel.monitoring.performance.realized import realized_performance
from keel.serving.outcomes import OutcomeWriter
from keel.training.service import Target


@dataclass(frozen=True)
class Case:
    positive: object
    column: list[Any]  # as a file gives them (CSV text, Parquet ints, floats or bools)
    sent: list[Any]  # the same labels as JSON values to /v1/outcomes
    expected: list[float]


CASES = [
    Case(1, [1.0, 0.0, 1.0, 0.0], [1, 0, True, False], [1, 0, 1, 0]),
    Case(0, [0, 1, 0, 1], [0, 1, 0, 1], [1, 0, 1, 0]),
    Case(2, [2, 1, 2, 1], [2, 1, "2", 1], [1, 0, 1, 0]),
    Case("yes", ["Yes", "no", " YES", "No"], ["yes", "no", "Yes", "NO"], [1, 0, 1, 0]),
    Case(True, [1, 0, 1, 0], [True, False, 1, 0], [1, 0, 1, 0]),
]
IDS = ["positive-1", "positive-0", "positive-2", "positive-yes", "positive-true"]


@dataclass
class MemoryLog:
    """An outcome log that keeps what it is given and acknowledges at once."""

    records: list[Any] = field(default_factory=list)

    def submit(self, records: list[Any]) -> Future[None]:
        self.records.extend(records)
        done: Future[None] = Future()
        done.set_result(None)
        return done


def _clock() -> datetime:
    return datetime(2024, 1, 1, tzinfo=UTC)


def posted(positive: object, labels: list[Any]) -> list[float]:
    """The labels ``OutcomeWriter`` stores for a POST of ``labels``."""
    log = MemoryLog()
    writer = OutcomeWriter(cast(Any, log), "binary", positive, _clock)
    items = [{"id": f"p{i}", "label": label} for i, label in enumerate(labels)]
    asyncio.run(writer.record(items, source="test"))
    return [record.label for record in log.records]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_training_labels_follow_the_rule(case: Case) -> None:
    labels = Target("y", "binary", case.positive).labels(pl.Series("y", case.column))
    assert labels.tolist() == case.expected


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_outcomes_api_maps_labels_as_training_does(case: Case) -> None:
    assert posted(case.positive, case.sent) == case.expected


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_label_rate_shift_counts_the_positive_class(case: Case) -> None:
    shift = label_rate_shift(
        pl.Series("y", case.column), pl.Series("y", case.column[:1]), positive=case.positive
    )
    assert (shift.reference_rate, shift.current_rate) == (0.5, 1.0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_is_positive_keeps_missing_labels_missing(case: Case) -> None:
    values = pl.Series("y", [*case.column, None])
    assert is_positive(values, case.positive).to_list() == [*map(bool, case.expected), None]


def test_realized_roc_auc_is_not_inverted_with_positive_zero() -> None:
    """A model trained with ``positive: 0`` scores P(label == 0); outcomes that report the
    target's own values must give the realized ROC AUC the reference gives, not one minus it."""
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 2, 400)
    target = Target("defaulted", "binary", 0)
    reference = target.labels(pl.Series("defaulted", raw))
    scores = np.clip(reference * 0.6 + rng.uniform(0, 0.4, raw.size), 0, 1)
    realized = posted(0, [int(v) for v in raw])
    expected = realized_performance(reference, scores, resamples=50).metrics["roc_auc"]
    found = realized_performance(realized, scores, resamples=50).metrics["roc_auc"]
    assert expected.value == 1.0
    assert found.value == expected.value


@pytest.mark.parametrize(
    ("positive", "label", "message"),
    [
        (1, 7, "expected 0 or 1, got 7"),
        (0, "yes", "expected 0 or 1, got 'yes'"),
        (True, 0.5, "expected 0 or 1, got 0.5"),
        ("yes", 1, "expected a value of the target such as 'yes', got 1"),
        ("yes", True, "expected a value of the target such as 'yes', got True"),
        (2, [2], "expected a value of the target such as 2, got [2]"),
    ],
    ids=["out-of-range", "text-for-0/1", "fraction", "number-for-text", "bool-for-text", "list"],
)
def test_api_refuses_labels_it_cannot_read(positive: object, label: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)) as raised:
        binary_label(label, positive, path="outcomes[0].label")
    assert raised.value.path == "outcomes[0].label"
