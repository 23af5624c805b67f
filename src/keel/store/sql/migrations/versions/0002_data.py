"""Data layer: batches (with their quarantine) and immutable dataset versions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("dataset", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("uri", sa.String(2000), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("from_text", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("accepted", sa.BigInteger, nullable=False),
        sa.Column("quarantined", sa.BigInteger, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("row_reasons", sa.Text, nullable=False),
        sa.Column("dataset_version", sa.Integer, nullable=True),
        sa.Column("quarantine_digest", sa.String(64), nullable=True),
        sa.Column("replay_of", sa.String(16), nullable=True),
        sa.Column("replayed_by", sa.String(16), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_batches"),
        sa.CheckConstraint("rows = accepted + quarantined", name="ck_batches_rows_add_up"),
    )
    op.create_index("ix_batches_file_sha256", "batches", ["file_sha256"])
    op.create_table(
        "dataset_versions",
        sa.Column("dataset", sa.String(63), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("parent", sa.Integer, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("schema", sa.Text, nullable=False),
        sa.Column("parts", sa.Text, nullable=False),
        sa.Column("batch_id", sa.String(16), nullable=False),
        sa.Column("profile_digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "version", name="pk_dataset_versions"),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name="fk_dataset_versions_batch_id_batches"
        ),
        sa.UniqueConstraint("dataset", "parent", name="uq_dataset_versions_parent"),
    )


def downgrade() -> None:
    op.drop_table("dataset_versions")
    op.drop_index("ix_batches_file_sha256", "batches")
    op.drop_table("batches")
