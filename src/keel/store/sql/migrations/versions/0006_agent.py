"""The agent: its controls (pause flag, leader lease, cooldown), journal, single flight, budget.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_controls",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("paused_by", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("term", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cooldown_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("project", name="pk_agent_controls"),
    )
    op.create_table(
        "agent_actions",
        sa.Column("project", sa.String(63), nullable=False),
        sa.Column("seq", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project", "seq", name="pk_agent_actions"),
        sa.UniqueConstraint("project", "key", name="uq_agent_actions_key"),
    )
    op.create_table(
        "agent_inflight",
        sa.Column("project", sa.String(63), nullable=False),
        sa.Column("action", sa.Integer, nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project", name="pk_agent_inflight"),
    )
    op.create_table(
        "agent_budget",
        sa.Column("project", sa.String(63), nullable=False),
        sa.Column("action", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project", "action", "kind", name="pk_agent_budget"),
    )


def downgrade() -> None:
    op.drop_table("agent_budget")
    op.drop_table("agent_inflight")
    op.drop_table("agent_actions")
    op.drop_table("agent_controls")
