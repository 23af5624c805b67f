"""The agent's guards and journal on SQL (``keel.automation.ports.AgentRepo``).

Every guard is a row: the controls row (pause flag, lease, cooldown) is locked first in each
writing method (``FOR UPDATE`` on PostgreSQL; SQLite's write transactions are serialized by
``BEGIN IMMEDIATE``), so the checks and the writes of one method cannot interleave with another
agent's. Single flight is a primary key (``agent_inflight``), the idempotency key a unique
constraint; a racing loser gets ``Conflict`` from the database itself.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from keel.automation.journal import ActionStatus, AgentAction, Controls, Guard, Lease, Step
from keel.errors import Conflict, NotFound, PolicyViolation
from keel.store.sql.sequences import next_number
from keel.store.sql.tables import agent_actions, agent_budget, agent_controls, agent_inflight
from keel.store.sql.timestamps import aware


def _insert_missing(conn: Connection, project: str) -> sa.Insert:
    """The controls row's insert, ignored when another transaction created the row first (a
    plain insert would fail the second of two agents started at once on a fresh project)."""
    values = {"project": project, "paused": False, "term": 0}
    if conn.dialect.name == "postgresql":
        return postgresql.insert(agent_controls).values(values).on_conflict_do_nothing()
    return sqlite.insert(agent_controls).values(values).on_conflict_do_nothing()


class SqlAgentRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _locked(self, project: str) -> RowMapping:
        """The controls row, created if missing, locked for this transaction."""
        query = sa.select(agent_controls).where(agent_controls.c.project == project)
        row = self.conn.execute(query.with_for_update()).mappings().first()
        if row is None:  # two agents may race to create it: the loser's insert does nothing
            self.conn.execute(_insert_missing(self.conn, project))
            row = self.conn.execute(query.with_for_update()).mappings().one()
        return row

    def _update(self, project: str, **values: Any) -> None:
        where = agent_controls.c.project == project
        self.conn.execute(agent_controls.update().where(where).values(**values))

    def acquire(self, project: str, holder: str, now: datetime, seconds: int) -> Lease | None:
        row = self._locked(project)
        expires = aware(row["expires_at"]) if row["expires_at"] else None
        if row["holder"] not in (None, holder) and expires is not None and expires > now:
            return None
        term = row["term"] if row["holder"] == holder and expires and expires > now else None
        term = term if term is not None else row["term"] + 1
        until = now + timedelta(seconds=seconds)
        self._update(project, holder=holder, term=term, expires_at=until)
        return Lease(holder, term, until)

    def release(self, project: str, holder: str) -> None:
        row = self._locked(project)
        if row["holder"] == holder:
            self._update(project, holder=None, expires_at=None)

    def controls(self, project: str) -> Controls:
        query = sa.select(agent_controls).where(agent_controls.c.project == project)
        row = self.conn.execute(query).mappings().first()
        return _controls(row) if row is not None else Controls()

    def set_paused(
        self, project: str, paused: bool, actor: str, reason: str | None, now: datetime
    ) -> Controls:
        self._locked(project)
        self._update(project, paused=paused, paused_by=actor, reason=reason, changed_at=now)
        return self.controls(project)

    def _check_lease(
        self, row: RowMapping, holder: str, now: datetime, *, starting: bool = True
    ) -> None:
        """Starting needs a live lease; recording what a step did needs only that no other
        agent took the lease over meanwhile (a long step may outlive the lease)."""
        expires = aware(row["expires_at"]) if row["expires_at"] else None
        lapsed = expires is None or expires <= now
        if row["holder"] != holder or (starting and lapsed):
            raise Conflict(
                f"{holder} does not hold the agent lease (held by {row['holder'] or 'no one'})",
                hint="only the leading agent acts; this one waits for the lease to lapse",
            )

    def start(self, action: AgentAction, guard: Guard, now: datetime) -> AgentAction:
        row = self._locked(action.project)
        self._check_lease(row, guard.holder, now)
        existing = self._find(action.project, key=action.key)
        if action.status is not ActionStatus.RUNNING:  # proposed or skipped: recorded once
            return existing if existing is not None else self._insert(action)
        if existing is not None and existing.status is not ActionStatus.PROPOSED:
            raise Conflict(f"{existing.id} already answered {action.key}", action=existing.id)
        if row["paused"]:
            raise PolicyViolation(
                f"the agent is paused (by {row['paused_by']}): it starts nothing",
                hint="keel agent resume",
            )
        self._take_slot(action, existing, row, guard, now)
        if existing is None:
            return self._insert(action)
        started = existing.steps + action.steps
        return self._save(existing, status=ActionStatus.RUNNING, steps=started, at=now)

    def _take_slot(
        self,
        action: AgentAction,
        existing: AgentAction | None,
        row: RowMapping,
        guard: Guard,
        now: datetime,
    ) -> None:
        project = action.project
        until = aware(row["cooldown_until"]) if row["cooldown_until"] else None
        if guard.cooldown and until is not None and until > now:
            raise Conflict(
                f"the model cools down until {until.isoformat(timespec='seconds')}",
                hint="automation.cooldown_minutes sets how long",
            )
        busy = self.conn.execute(
            sa.select(agent_inflight.c.action).where(agent_inflight.c.project == project)
        ).scalar()
        if busy is not None:
            raise Conflict(f"act-{busy:04d} is in flight for this model: one at a time")
        seq = existing.seq if existing is not None else self._next(project)
        self.conn.execute(agent_inflight.insert().values(project=project, action=seq, since=now))
        if guard.budget is not None:
            self._reserve(project, seq, guard.budget, now)

    def _reserve(self, project: str, seq: int, budget: tuple[str, int, int], now: datetime) -> None:
        kind, limit, hours = budget
        held = (
            (agent_budget.c.project == project)
            & (agent_budget.c.action == seq)
            & (agent_budget.c.kind == kind)
        )
        if self.conn.execute(sa.select(agent_budget.c.units).where(held)).first() is not None:
            return  # reserved before a crash: a step done again is not charged again
        spent = self.spent(project, kind, now - timedelta(hours=hours))
        if spent + 1 > limit:
            raise PolicyViolation(
                f"the {kind} budget is spent: {spent} of {limit} in {hours} h",
                hint="automation.budgets sets the limits",
            )
        self.conn.execute(
            agent_budget.insert().values(
                project=project, action=seq, kind=kind, units=1, status="reserved", at=now
            )
        )

    def _next(self, project: str) -> int:
        return next_number(self.conn, agent_actions.c.seq, project)

    def _insert(self, action: AgentAction) -> AgentAction:
        seq = self._next(action.project)
        self.conn.execute(agent_actions.insert().values(_row(action, seq)))
        return self.get(action.project, seq)

    def _save(
        self,
        action: AgentAction,
        *,
        status: ActionStatus,
        steps: tuple[Step, ...],
        at: datetime,
        outcome: dict[str, Any] | None = None,
    ) -> AgentAction:
        values: dict[str, Any] = {
            "status": status.value,
            "steps": json.dumps([_step_dict(s) for s in steps]),
            "updated_at": at,
        }
        if outcome is not None:
            values["outcome"] = json.dumps(outcome, default=str)
        where = (agent_actions.c.project == action.project) & (agent_actions.c.seq == action.seq)
        self.conn.execute(agent_actions.update().where(where).values(**values))
        return self.get(action.project, action.seq)

    def step(
        self,
        project: str,
        seq: int,
        step: Step,
        holder: str | None,
        budget: tuple[str, int, int] | None = None,
    ) -> AgentAction:
        row = self._locked(project)
        action = self.get(project, seq)
        if holder is not None:  # None: a person's record (an approval), not the agent's
            self._check_lease(row, holder, step.at, starting=step.state == "started")
        if row["paused"] and step.state == "started":
            raise PolicyViolation(
                f"the agent is paused (by {row['paused_by']}): {action.id} stops before"
                f" {step.name}",
                hint="keel agent resume",
            )
        if budget is not None:
            self._reserve(project, seq, budget, step.at)
        return self._save(action, status=action.status, steps=(*action.steps, step), at=step.at)

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
        self._locked(project)
        action = self.get(project, seq)
        where = (agent_inflight.c.project == project) & (agent_inflight.c.action == seq)
        self.conn.execute(agent_inflight.delete().where(where))
        charge = "released" if status is ActionStatus.REJECTED else "charged"
        spent = (agent_budget.c.project == project) & (agent_budget.c.action == seq)
        self.conn.execute(agent_budget.update().where(spent).values(status=charge))
        if cooldown_until is not None:
            self._update(project, cooldown_until=cooldown_until)
        return self._save(action, status=status, steps=action.steps, at=now, outcome=outcome)

    def _find(self, project: str, *, key: str) -> AgentAction | None:
        where = (agent_actions.c.project == project) & (agent_actions.c.key == key)
        row = self.conn.execute(sa.select(agent_actions).where(where)).mappings().first()
        return _action(row) if row is not None else None

    def get(self, project: str, seq: int | None = None, *, key: str | None = None) -> AgentAction:
        found = None
        if key is not None:
            found = self._find(project, key=key)
        elif seq is not None:
            where = (agent_actions.c.project == project) & (agent_actions.c.seq == seq)
            row = self.conn.execute(sa.select(agent_actions).where(where)).mappings().first()
            found = _action(row) if row is not None else None
        if found is None:
            named = f"act-{seq:04d}" if seq is not None else repr(key)
            raise NotFound("agent action", named, hint="'keel agent history' lists them")
        return found

    def actions(
        self, project: str, *, open_only: bool = False, limit: int = 50
    ) -> list[AgentAction]:
        query = sa.select(agent_actions).where(agent_actions.c.project == project)
        if open_only:
            query = query.where(agent_actions.c.status.in_(["proposed", "running"]))
        query = query.order_by(agent_actions.c.seq.desc()).limit(limit)
        return [_action(row) for row in self.conn.execute(query).mappings()]

    def spent(self, project: str, kind: str, since: datetime) -> int:
        query = sa.select(sa.func.coalesce(sa.func.sum(agent_budget.c.units), 0)).where(
            agent_budget.c.project == project,
            agent_budget.c.kind == kind,
            agent_budget.c.status.in_(["reserved", "charged"]),
            agent_budget.c.at > since,
        )
        return int(self.conn.execute(query).scalar() or 0)


def _controls(row: RowMapping) -> Controls:
    lease = None
    if row["holder"] is not None and row["expires_at"] is not None:
        lease = Lease(row["holder"], row["term"], aware(row["expires_at"]))
    return Controls(
        paused=bool(row["paused"]),
        paused_by=row["paused_by"],
        reason=row["reason"],
        changed_at=aware(row["changed_at"]) if row["changed_at"] else None,
        lease=lease,
        cooldown_until=aware(row["cooldown_until"]) if row["cooldown_until"] else None,
    )


def _step_dict(step: Step) -> dict[str, Any]:
    return {"name": step.name, "state": step.state, "at": step.at.isoformat(), **step.details}


def _step(body: dict[str, Any]) -> Step:
    details = {k: v for k, v in body.items() if k not in ("name", "state", "at")}
    return Step(body["name"], body["state"], datetime.fromisoformat(body["at"]), details)


def _row(action: AgentAction, seq: int) -> dict[str, Any]:
    return {
        "project": action.project,
        "seq": seq,
        "key": action.key,
        "kind": action.kind,
        "rule": action.rule,
        "mode": action.mode,
        "status": action.status.value,
        "actor": action.actor,
        "evidence": json.dumps(action.evidence, default=str),
        "steps": json.dumps([_step_dict(s) for s in action.steps]),
        "outcome": json.dumps(action.outcome, default=str),
        "created_at": action.created_at,
        "updated_at": action.updated_at,
    }


def _action(row: RowMapping) -> AgentAction:
    return AgentAction(
        project=row["project"],
        seq=row["seq"],
        key=row["key"],
        kind=row["kind"],
        rule=row["rule"],
        mode=row["mode"],
        status=ActionStatus(row["status"]),
        actor=row["actor"],
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        evidence=json.loads(row["evidence"]),
        steps=tuple(_step(s) for s in json.loads(row["steps"])),
        outcome=json.loads(row["outcome"]),
    )
