"""Review queue: items made from the prediction log, reviewers' decisions, the sync cursor.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(63), nullable=False),
        sa.Column("prediction_id", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(200), nullable=False),
        sa.Column("predicted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(100), nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("decision", sa.String(63), nullable=True),
        sa.Column("reason", sa.String(10), nullable=False),
        sa.Column("priority", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviews_needed", sa.Integer, nullable=False),
        sa.Column("reviews_done", sa.Integer, nullable=False),
        sa.Column("resolution", sa.String(63), nullable=True),
        sa.Column("label", sa.Float, nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_done_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("project", "prediction_id", name="uq_review_items_prediction"),
    )
    op.create_index("ix_review_items_queue", "review_items", ["project", "state", "priority"])
    op.create_index("ix_review_items_predicted", "review_items", ["project", "predicted_at"])
    op.create_index(
        "ix_review_items_deadline", "review_items", ["project", "sla_done_at", "due_at"]
    )
    op.create_table(
        "review_decisions",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("item", sa.Integer, primary_key=True),
        sa.Column("reviewer", sa.String(200), primary_key=True),
        sa.Column("decision", sa.String(63), nullable=False),
        sa.Column("label", sa.Float, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item"], ["review_items.id"], name="fk_review_decisions_item_review_items"
        ),
    )
    op.create_table(
        "review_cursors",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("review_cursors", "review_decisions"):
        op.drop_table(table)
    op.drop_index("ix_review_items_deadline", "review_items")
    op.drop_index("ix_review_items_predicted", "review_items")
    op.drop_index("ix_review_items_queue", "review_items")
    op.drop_table("review_items")
