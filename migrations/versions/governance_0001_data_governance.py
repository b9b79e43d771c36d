"""governance: mounted resources, data versions, ingest jobs

Revision ID: governance_0001
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "governance_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("governance",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gov_ingest_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_code", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("staged_path", sa.String(length=300), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_ingest_job")),
    )
    with op.batch_alter_table("gov_ingest_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gov_ingest_job_entry_code"), ["entry_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_gov_ingest_job_status"), ["status"], unique=False)
    op.create_table(
        "gov_resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_code", sa.String(length=30), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("current_version_id", sa.Integer(), nullable=True),
        sa.Column("data_updated_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_resource")),
        sa.UniqueConstraint("entry_code", name=op.f("uq_gov_resource_entry_code")),
    )
    with op.batch_alter_table("gov_resource", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gov_resource_department_id"), ["department_id"], unique=False)
    op.create_table(
        "gov_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_code", sa.String(length=30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("rows_in", sa.Integer(), nullable=False),
        sa.Column("rows_out", sa.Integer(), nullable=False),
        sa.Column("rows_quarantined", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_version")),
        sa.UniqueConstraint("entry_code", "version", name=op.f("uq_gov_version_entry_code")),
    )
    with op.batch_alter_table("gov_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gov_version_entry_code"), ["entry_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gov_version", schema=None) as batch_op:
        batch_op.drop_index("ix_gov_version_entry_code")

    op.drop_table("gov_version")
    with op.batch_alter_table("gov_resource", schema=None) as batch_op:
        batch_op.drop_index("ix_gov_resource_department_id")

    op.drop_table("gov_resource")
    with op.batch_alter_table("gov_ingest_job", schema=None) as batch_op:
        batch_op.drop_index("ix_gov_ingest_job_entry_code")
        batch_op.drop_index("ix_gov_ingest_job_status")

    op.drop_table("gov_ingest_job")
