"""The model card a run stores when it finishes: what it is, and the port that makes it.

Training decides when a card is made (a run succeeded) and stores it with the run's artifacts;
how it looks (Markdown, an HTML page with plots) is presentation, which lives in
``keel.reporting.card`` and reaches the ``Trainer`` through ``CardRenderer`` from the composition
root, so this package never renders a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from keel.training.runs import Run


@dataclass(frozen=True)
class Card:
    """A run's card in its two stored forms: ``card.md`` and ``card.html``."""

    markdown: str
    html: str


class CardRenderer(Protocol):
    def render(self, run: Run, limitations: tuple[str, ...], dataset: str) -> Card:
        """The card of a finished ``run`` of ``dataset``, with the project's ``limitations``."""
        ...
