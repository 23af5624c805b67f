"""Predictions and outcomes as records, and the port of the logs that keep them durably."""

from keel.predictions.ports import RecordLog
from keel.predictions.records import OutcomeRecord, PredictionRecord

__all__ = ["OutcomeRecord", "PredictionRecord", "RecordLog"]
