"""The port the prediction service writes through: a durable, append-only log of records.

Implemented by ``keel.store.tables`` (``PredictionLog``, ``OutcomeLog``); the service sees only
these two methods, so the data plane never depends on how or where rows are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Protocol, TypeVar

from keel.predictions.records import Loggable

R_contra = TypeVar("R_contra", bound=Loggable, contravariant=True)


class RecordLog(Protocol[R_contra]):
    """Append-only and durable: a record is acknowledged only once it would survive a crash."""

    def submit(self, records: Sequence[R_contra]) -> Future[None]:
        """Queue ``records``; the future completes once they are durable (or fails with
        ``StorageUnavailable``). Safe from many threads; the order within one call is kept."""
        ...

    def append(self, records: Sequence[R_contra]) -> None:
        """``submit`` and wait: returns once ``records`` are durable."""
        ...
