"""Released decision policies: their versions, gates and approvals, and the policy each
release row puts in force.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("releases", sa.Column("policy", sa.Integer, nullable=True))
    op.create_table(
        "decision_policies",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("digest", sa.String(16), nullable=False),
        sa.Column("deciding", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gate", sa.Text, nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("project", "digest", name="uq_decision_policies_digest"),
    )
    op.create_table(
        "policy_approvals",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("approver", sa.String(200), primary_key=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project", "version"],
            ["decision_policies.project", "decision_policies.version"],
            name="fk_policy_approvals_policy",
        ),
    )


def downgrade() -> None:
    op.drop_table("policy_approvals")
    op.drop_table("decision_policies")
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("policy")
