"""The agent's one port: the guards and the journal, enforced by the metadata database.

Each method is one transaction. Every guard (leader, pause, single flight, cooldown, budget) is
checked and taken in the same transaction that writes the journal row, so two agents, or an agent
and a person pausing it, can never both win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from keel.automation.journal import ActionStatus, AgentAction, Controls, Guard, Lease, Step


class AgentRepo(Protocol):
    def acquire(self, project: str, holder: str, now: datetime, seconds: int) -> Lease | None:
        """Take or renew the lease; None while another holder's lease has not lapsed."""
        ...

    def release(self, project: str, holder: str) -> None:
        """Give the lease up (only if ``holder`` has it)."""
        ...

    def controls(self, project: str) -> Controls:
        """The pause flag and the current lease."""
        ...

    def set_paused(
        self, project: str, paused: bool, actor: str, reason: str | None, now: datetime
    ) -> Controls:
        """Pause or resume the agent: effective for the next step of any action."""
        ...

    def start(self, action: AgentAction, guard: Guard, now: datetime) -> AgentAction:
        """Journal a new running action after taking every guard; raises ``Conflict`` (lease
        lost, key used, another action in flight, cooling down) or ``PolicyViolation``
        (paused, budget spent). An action ``PROPOSED`` takes no guard but the lease."""
        ...

    def step(
        self,
        project: str,
        seq: int,
        step: Step,
        holder: str | None,
        budget: tuple[str, int, int] | None = None,
    ) -> AgentAction:
        """Append a step record; refused (``Conflict``/``PolicyViolation``) if ``holder`` lost
        the lease, or the agent is paused and the step is ``started``, or ``budget`` (kind,
        limit, window hours) is spent; ``holder`` None is a person's record (an approval)."""
        ...

    def finish(
        self,
        project: str,
        seq: int,
        status: ActionStatus,
        *,
        outcome: dict[str, object],
        now: datetime,
        cooldown_until: datetime | None = None,
    ) -> AgentAction:
        """Close an action: its single-flight slot freed, its budget charged (``DONE`` or
        ``FAILED`` after it ran) or given back (``REJECTED``), the model's cooldown set."""
        ...

    def get(self, project: str, seq: int | None = None, *, key: str | None = None) -> AgentAction:
        """One action by number or idempotency key; ``NotFound`` otherwise."""
        ...

    def actions(
        self, project: str, *, open_only: bool = False, limit: int = 50
    ) -> list[AgentAction]:
        """Newest first."""
        ...

    def spent(self, project: str, kind: str, since: datetime) -> int:
        """Budget units of ``kind`` reserved or charged since ``since``."""
        ...
