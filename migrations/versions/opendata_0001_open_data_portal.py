"""opendata: open datasets, conditional-open applications, rate buckets

Revision ID: opendata_0001
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "opendata_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("opendata",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_application")),
        sa.UniqueConstraint("dataset_id", "user_id", name=op.f("uq_open_application_dataset_id")),
    )
    with op.batch_alter_table("open_application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open_application_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_open_application_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_open_application_user_id"), ["user_id"], unique=False)
    op.create_table(
        "open_dataset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("open_type", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=False),
        sa.Column("published_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_dataset")),
        sa.UniqueConstraint("entry_code", name=op.f("uq_open_dataset_entry_code")),
        sa.UniqueConstraint("name", name=op.f("uq_open_dataset_name")),
    )
    with op.batch_alter_table("open_dataset", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open_dataset_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_open_dataset_department_code"), ["department_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_open_dataset_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_open_dataset_open_type"), ["open_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_open_dataset_status"), ["status"], unique=False)
    op.create_table(
        "open_rate_bucket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("per_minute", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_rate_bucket")),
        sa.UniqueConstraint("key", name=op.f("uq_open_rate_bucket_key")),
    )


def downgrade() -> None:
    op.drop_table("open_rate_bucket")
    with op.batch_alter_table("open_dataset", schema=None) as batch_op:
        batch_op.drop_index("ix_open_dataset_category")
        batch_op.drop_index("ix_open_dataset_department_code")
        batch_op.drop_index("ix_open_dataset_department_id")
        batch_op.drop_index("ix_open_dataset_open_type")
        batch_op.drop_index("ix_open_dataset_status")

    op.drop_table("open_dataset")
    with op.batch_alter_table("open_application", schema=None) as batch_op:
        batch_op.drop_index("ix_open_application_dataset_id")
        batch_op.drop_index("ix_open_application_status")
        batch_op.drop_index("ix_open_application_user_id")

    op.drop_table("open_application")
