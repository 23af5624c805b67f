"""Registry: model versions, gate results, releases, promotion requests and approvals.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("run_id", sa.String(16), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("data_version", sa.Integer, nullable=False),
        sa.Column("labels_version", sa.Integer, nullable=True),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("benchmarks", sa.Text, nullable=False),
        sa.Column("slices", sa.Text, nullable=False),
        sa.Column("artifacts", sa.Text, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project", "run_id", name="uq_model_versions_run"),
    )
    op.create_table(
        "gate_results",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("benchmark", sa.String(63), nullable=True),
        sa.Column("champion", sa.Integer, nullable=True),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("checks", sa.Text, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project", "version"],
            ["model_versions.project", "model_versions.version"],
            name="fk_gate_results_model",
        ),
    )
    op.create_table(
        "releases",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("parent", sa.Integer, nullable=False),
        sa.Column("champion", sa.Integer, nullable=True),
        sa.Column("shadow", sa.Text, nullable=False),
        sa.Column("canary", sa.Integer, nullable=True),
        sa.Column("canary_share", sa.Float, nullable=False),
        sa.Column("previous_champion", sa.Integer, nullable=True),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("subject", sa.Integer, nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("restores", sa.Integer, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project", "parent", name="uq_releases_parent"),
        sa.CheckConstraint("parent = seq - 1", name="ck_releases_linear"),
    )
    op.create_table(
        "promotion_requests",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("gate_seq", sa.Integer, nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("needed", sa.Integer, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("override", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project", "gate_seq"],
            ["gate_results.project", "gate_results.seq"],
            name="fk_promotion_requests_gate",
        ),
    )
    op.create_table(
        "approvals",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("request_seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("approver", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("gate_seq", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project", "request_seq"],
            ["promotion_requests.project", "promotion_requests.seq"],
            name="fk_approvals_request",
        ),
    )


def downgrade() -> None:
    for table in ("approvals", "promotion_requests", "releases", "gate_results", "model_versions"):
        op.drop_table(table)
