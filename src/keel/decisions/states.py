"""The review queue's states and reasons: plain enums in a light module, so the command line can
offer them as choices without importing the review models."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a prediction went to a person, most urgent first."""

    DEFER = "defer"  # the fallback chain ended in defer: no model decided it
    OOD = "ood"  # the record lies outside what the model was trained on
    REVIEW = "review"  # the policy's decision was the review action
    AUDIT = "audit"  # a random sample of automatic decisions, to measure them without bias
    AGENT = "agent"  # the agent sent a sample of the champion's recent automatic decisions


class ItemState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
