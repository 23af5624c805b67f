"""Monitoring: runs over the prediction log, chunk results, incidents and their timelines.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_runs",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_table(
        "monitor_chunks",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("run", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("label", sa.String(100), primary_key=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("model", sa.String(100), nullable=True),
        sa.Column("results", sa.Text, nullable=False),
        sa.Column("breaches", sa.Text, nullable=False),
    )
    op.create_table(
        "incidents",
        sa.Column("project", sa.String(63), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("breaches", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("acked_by", sa.String(200), nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(63), nullable=False),
        sa.Column("incident", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["project", "incident"],
            ["incidents.project", "incidents.seq"],
            name="fk_incident_events_incident",
        ),
    )
    op.create_index("ix_incident_events_incident", "incident_events", ["project", "incident"])


def downgrade() -> None:
    op.drop_index("ix_incident_events_incident", "incident_events")
    for table in ("incident_events", "incidents", "monitor_chunks", "monitor_runs"):
        op.drop_table(table)
