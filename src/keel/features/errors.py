"""The error raised when a learnable object is used before ``fit``.

``NotFittedError`` is a ``Conflict``: the call is well formed, but it clashes with the object's
current state (not yet fitted). It is not ``InvalidInput`` because no argument the caller passed
is wrong; the fix is to call ``fit`` first (or load a fitted object with ``from_dict``).
"""

from __future__ import annotations

from keel.errors import Conflict


class NotFittedError(Conflict):
    """A learnable object (pipeline, estimator, calibrator) was used before ``fit``."""

    def __init__(self, owner: str) -> None:
        super().__init__(
            f"This {owner} is not fitted yet.",
            hint=f"Call {owner}.fit(...) first, or load a fitted one with {owner}.from_dict(...).",
            entity=owner,
        )
        self.owner = owner
